//! The schema as clients see it, pinned: a change to the API shows up as a snapshot diff.

#[test]
fn schema_sdl() {
    insta::assert_snapshot!(bduf_graphql::sdl());
}
