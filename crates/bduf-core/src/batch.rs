//! Per-request batching in waves. Resolvers ask a [`Batcher`] for keys; nothing is
//! fetched while the request can still make progress without data. Once every resolver
//! of the request waits (the request is *quiescent*), all keys queued so far are fetched
//! together — one fetch per key type, all of them concurrently — and no further fetch
//! starts until that whole wave has finished. So each level of a query is fetched in one
//! wave, with one statement per kind of key, however many items the level has and
//! however the runtime schedules the resolvers: the number of statements a request
//! takes depends on its shape alone.
//!
//! async-graphql's `DataLoader` starts a batch after a timer and can split a level's
//! keys into several batches when resolving the level takes longer than the timer (or
//! when a large list yields while being polled); that is why bduf drives its own waves.
//! [`drive`] runs a request's future under a batcher.
//!
//! Answers travel on `futures-channel` oneshots, not tokio's: a tokio channel spends the
//! task's cooperative budget on every poll and, once it is spent, answers "not yet" and
//! wakes the task — which, inside [`drive`]'s loop that re-polls a woken request at once,
//! would spin until the budget is renewed by a scheduler pass that never comes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::hash::Hash;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_channel::oneshot;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use futures_util::task::{ArcWake, AtomicWaker};

use sea_orm::sea_query::Condition;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::Db;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::scope::Scope;

/// Fetches the values of a batch of keys of one type. Implemented by [`Reader`] for
/// every key type of every context; keys without a value are left out of the map.
pub trait Fetch<K>: Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;
    fn fetch(&self, keys: &[K]) -> impl Future<Output = Result<HashMap<K, Self::Value>>> + Send;
}

/// What reads the database for a request: the one implementor of [`Fetch`]. It reads
/// through one read-only transaction ([`Reader::begin`]) — one connection for the whole
/// request and one snapshot for all its levels — or, made with [`Reader::new`], through
/// the pool.
#[derive(Clone)]
pub struct Reader {
    db: Db,
    transaction: Option<Arc<DatabaseTransaction>>,
    scope: Option<Scope>,
}

/// What a request's transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Queries: REPEATABLE READ on PostgreSQL (one snapshot for every level).
    Read,
    /// Mutations: READ COMMITTED on PostgreSQL (a row lock waits for the holder and then
    /// sees its commit, instead of failing with a serialization error), and on SQLite
    /// `BEGIN IMMEDIATE` (the write lock up front, so two writers queue on the busy
    /// timeout instead of deadlocking on the upgrade from a read lock).
    Write,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("db", &self.db)
            .field("in_transaction", &self.transaction.is_some())
            .field("scope", &self.scope)
            .finish()
    }
}

impl Reader {
    /// A reader through the pool, one connection per statement, seeing every row: for
    /// tools and tests, never for a client's request.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            transaction: None,
            scope: None,
        }
    }

    /// A reader through a transaction of its own, for one request acting in `scope`
    /// (none: before sign-in, which sees no tenant rows on PostgreSQL). Taking the
    /// connection is the only wait; when the pool has none within its acquire timeout
    /// the answer is [`Error::Busy`].
    ///
    /// On PostgreSQL the transaction then switches to the role `bduf_app`, which is
    /// subject to row-level security, and sets `app.user_id` and
    /// `app.organization_id` — all with `set_config(…, true)` in one statement, so all
    /// of it ends with the transaction and nothing is left on the pooled connection.
    pub async fn begin(db: &Db, scope: Option<Scope>, access: Access) -> Result<Self> {
        let options = match access {
            Access::Read => TransactionOptions::default(),
            Access::Write => TransactionOptions {
                isolation_level: (db.backend() == DbBackend::Postgres)
                    .then_some(IsolationLevel::ReadCommitted),
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            },
        };
        let transaction = db
            .conn()
            .begin_with_options(options)
            .await
            .map_err(|err| match err {
                DbErr::ConnectionAcquire(_) => Error::Busy,
                other => Error::from(other),
            })?;
        if db.backend() == DbBackend::Postgres {
            let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
            transaction
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('role', 'bduf_app', true), \
                     set_config('app.user_id', $1, true), \
                     set_config('app.organization_id', $2, true)",
                    [
                        text(scope.map(|s| s.user)).into(),
                        text(scope.and_then(|s| s.organization)).into(),
                    ],
                ))
                .await?;
        }
        Ok(Self {
            db: db.clone(),
            transaction: Some(Arc::new(transaction)),
            scope: Some(scope.unwrap_or(Scope {
                user: Uuid::nil(),
                organization: None,
            })),
        })
    }

    /// The scope this reader reads in (none: unscoped, see [`Reader::new`]).
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// The condition that keeps the rows of `M` this reader may see.
    pub fn visible<M: Record>(&self) -> Condition {
        crate::scope::visible(M::TABLE, M::TENANCY, self.scope.as_ref())
    }

    /// The request's transaction, for writes (none for a pool reader).
    pub fn transaction(&self) -> Option<&DatabaseTransaction> {
        self.transaction.as_deref()
    }

    /// Ends the transaction, keeping what it wrote.
    pub async fn commit(self) -> Result<()> {
        if let Some(transaction) = self.transaction.and_then(|t| Arc::try_unwrap(t).ok()) {
            transaction.commit().await?;
        }
        Ok(())
    }

    /// Ends the reader's transaction (it changed nothing: it is rolled back).
    pub async fn finish(self) {
        if let Some(transaction) = self.transaction.and_then(|t| Arc::try_unwrap(t).ok())
            && let Err(err) = transaction.rollback().await
        {
            tracing::warn!(error = %err, "ending a read transaction failed");
        }
    }

    /// Which database this reader reads.
    pub fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    /// Runs a query and returns its rows.
    pub async fn query(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.transaction {
            Some(transaction) => transaction.query_all_raw(statement).await,
            None => self.db.query(statement).await,
        }
    }
}

/// The batcher of one request. Cheap to clone.
#[derive(Clone)]
pub struct Batcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

struct Inner {
    reader: Reader,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Keys waiting for the next wave, by key type (`Queue<K, V>`).
    queues: HashMap<TypeId, Box<dyn Any + Send>>,
    /// One fetch job per key type with queued keys.
    jobs: Vec<Job>,
}

type Job = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

type Reply<V> = oneshot::Sender<Result<Option<V>>>;

struct Queue<K, V> {
    waiting: Vec<(K, Reply<V>)>,
}

impl Batcher {
    /// A batcher reading through `reader`.
    pub fn new(reader: Reader) -> Self {
        Self {
            inner: Arc::new(Inner {
                reader,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The reader behind this batcher.
    pub fn reader(&self) -> &Reader {
        &self.inner.reader
    }

    /// The value of `key`, fetched in the next wave together with every other key queued
    /// before it; `None` when there is none.
    pub async fn load<K>(&self, key: K) -> Result<Option<<Reader as Fetch<K>>::Value>>
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        Reader: Fetch<K>,
    {
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.inner.lock();
            let State { queues, jobs } = &mut *state;
            let queue = queues
                .entry(TypeId::of::<K>())
                .or_insert_with(|| {
                    Box::new(Queue::<K, <Reader as Fetch<K>>::Value> {
                        waiting: Vec::new(),
                    })
                })
                .downcast_mut::<Queue<K, <Reader as Fetch<K>>::Value>>()
                .expect("one queue type per key type");
            if queue.waiting.is_empty() {
                let inner = Arc::clone(&self.inner);
                jobs.push(Box::new(move || Box::pin(inner.run::<K>())));
            }
            queue.waiting.push((key, reply));
        }
        answer.await.map_err(|_| Error::Cancelled)?
    }

    /// Takes the jobs of the next wave.
    fn take_jobs(&self) -> Vec<Job> {
        std::mem::take(&mut self.inner.lock().jobs)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only queues behind; they stay usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Fetches every queued key of type `K` and answers their waiters.
    async fn run<K>(self: Arc<Self>)
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        Reader: Fetch<K>,
    {
        let waiting = self
            .lock()
            .queues
            .remove(&TypeId::of::<K>())
            .and_then(|q| q.downcast::<Queue<K, <Reader as Fetch<K>>::Value>>().ok())
            .map(|q| q.waiting)
            .unwrap_or_default();
        let mut keys: Vec<K> = Vec::with_capacity(waiting.len());
        let mut asked: HashMap<K, usize> = HashMap::with_capacity(waiting.len());
        for (key, _) in &waiting {
            let n = asked.entry(key.clone()).or_insert(0);
            if *n == 0 {
                keys.push(key.clone());
            }
            *n += 1;
        }
        match self.reader.fetch(&keys).await {
            Ok(mut values) => {
                for (key, reply) in waiting {
                    let left = asked.get_mut(&key).map_or(0, |n| {
                        *n -= 1;
                        *n
                    });
                    let value = if left == 0 {
                        values.remove(&key)
                    } else {
                        values.get(&key).cloned()
                    };
                    let _ = reply.send(Ok(value));
                }
            }
            Err(err) => {
                for (_, reply) in waiting {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Wakes the request's task and remembers that it did.
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::SeqCst);
        flag.task.wake();
    }
}

/// Runs `request` to completion, fetching the keys it asks `batcher` for in waves: a
/// wave starts only when the request waits for nothing but data, and takes every key
/// queued by then; the next starts only after the whole wave has finished.
pub async fn drive<T>(batcher: &Batcher, request: impl Future<Output = T>) -> T {
    let flag = Arc::new(Flag::default());
    let waker = futures_util::task::waker(Arc::clone(&flag));
    let mut request = pin!(request);
    let mut wave: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
    poll_fn(move |cx: &mut Context<'_>| {
        flag.task.register(cx.waker());
        loop {
            flag.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(out) = request.as_mut().poll(&mut Context::from_waker(&waker)) {
                return Poll::Ready(out);
            }
            if flag.woken.load(Ordering::SeqCst) {
                // The request woke itself (a long list yields while it is polled) or got
                // data while being polled: it can go on at once.
                continue;
            }
            if wave.is_empty() {
                let jobs = batcher.take_jobs();
                if jobs.is_empty() {
                    return Poll::Pending;
                }
                wave.extend(jobs.into_iter().map(|job| job()));
            }
            let mut finished = false;
            while let Poll::Ready(Some(())) = wave.poll_next_unpin(cx) {
                finished = true;
            }
            if !finished && !flag.woken.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
    })
    .await
}
