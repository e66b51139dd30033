//! End-to-end tests over HTTP against the real server binary. Empty until the server
//! exists; the tests themselves will live beside this file.
