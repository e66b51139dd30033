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
//! Aggregate keys ([`Tally`], asked for with [`Batcher::tally`]) go further: every
//! aggregate key of a wave, whatever its type, is answered by one statement together
//! (see `crate::aggregate`), so a level's counts and sums cost one statement between
//! them.
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

use futures_util::FutureExt as _;
use sea_orm::DbBackend;
use sea_orm::sea_query::SelectStatement;
use std::sync::atomic::AtomicUsize;

use crate::aggregate::{Grouped, Tally, TallyRow, merged};
use crate::error::{Error, Result};
use crate::ride::{Carried, Ride, Tallies};
use crate::txn::RequestTxn;

/// The map a fetch answers with, and the batch's own maps: a `HashMap` with foldhash,
/// several times cheaper than the standard SipHash for the small keys (ids, filters)
/// hashed once per row and per field, and still seeded per map.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Fetches the values of a batch of keys of one type. Implemented on the request's
/// transaction ([`RequestTxn`]) for every key type of every context; keys without a value
/// are left out of the map.
pub trait Fetch<K>: Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;
    fn fetch(&self, keys: &[K]) -> impl Future<Output = Result<Map<K, Self::Value>>> + Send;

    /// How `keys` can be read riding on another read of their wave instead of by a
    /// statement of their own (`crate::ride`): reads of one row each, answering the
    /// keys together. Empty, the default, when they cannot.
    fn rider(&self, _keys: &[K]) -> Vec<Ride<K, Self::Value>> {
        Vec::new()
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
    txn: RequestTxn,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Keys waiting for the next wave, by key type (`Queue<K, V>`).
    queues: HashMap<TypeId, Box<dyn Any + Send>>,
    /// One fetch job per key type with queued keys.
    jobs: Vec<Job>,
    /// Aggregate keys waiting for the next wave, by key type; one job answers them all.
    tallies: HashMap<TypeId, Box<dyn Pending>>,
}

/// A key type's fetch in the next wave, started when the wave is taken: told whether it
/// may ride on another read of the wave.
type Job = Box<dyn FnOnce(bool) -> Started + Send>;

/// A started fetch.
enum Started {
    /// A statement of its own.
    Fetch(BoxFuture<'static, ()>),
    /// Riding on another read of the wave; given how many of the wave's fetches are
    /// left, it runs alone once none is and none carried it.
    Rides(Box<dyn FnOnce(Arc<Left>) -> BoxFuture<'static, ()> + Send>),
}

type Reply<V> = oneshot::Sender<Result<Option<V>>>;

struct Queue<K, V> {
    waiting: Vec<(K, Reply<V>)>,
    /// Whether every waiter asked with [`Batcher::load_riding`].
    rides: bool,
}

/// The keys of `waiting` without repeats, in the order first asked, and how many
/// waiters asked for each.
fn distinct<K: Clone + Eq + Hash, V>(waiting: &[(K, Reply<V>)]) -> (Vec<K>, Map<K, usize>) {
    let mut keys: Vec<K> = Vec::with_capacity(waiting.len());
    let mut asked: Map<K, usize> = Map::with_capacity_and_hasher(waiting.len(), Default::default());
    for (key, _) in waiting {
        let n = asked.entry(key.clone()).or_insert(0);
        if *n == 0 {
            keys.push(key.clone());
        }
        *n += 1;
    }
    (keys, asked)
}

/// Answers every waiter from `outcome`, moving each value to its last waiter.
fn reply<K: Eq + Hash, V: Clone>(
    waiting: Vec<(K, Reply<V>)>,
    mut asked: Map<K, usize>,
    outcome: Result<Map<K, V>>,
) {
    match outcome {
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

/// The aggregate keys of one type waiting for a wave, behind a type-erased face so that
/// one job can answer every type of them with one statement.
trait Pending: Send {
    /// The key type's name: the order of the statement's parts, so the same kinds of
    /// key give the same statement text.
    fn name(&self) -> &'static str;
    /// The select of the queued keys.
    fn grouped(&mut self, txn: &RequestTxn) -> Result<Grouped>;
    /// Answers the waiters from the select's rows.
    fn answer(self: Box<Self>, txn: &RequestTxn, rows: &[TallyRow]);
    /// Answers every waiter with `err`.
    fn fail(self: Box<Self>, err: Error);
    /// The queue itself, to add keys to.
    fn as_any(&mut self) -> &mut dyn Any;
}

struct TallyQueue<K, V> {
    waiting: Vec<(K, Reply<V>)>,
    /// The waiters' keys without repeats, and how many asked for each: set by `grouped`.
    distinct: Option<(Vec<K>, Map<K, usize>)>,
}

impl<K> Pending for TallyQueue<K, <RequestTxn as Tally<K>>::Value>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    RequestTxn: Tally<K>,
{
    fn name(&self) -> &'static str {
        std::any::type_name::<K>()
    }

    fn grouped(&mut self, txn: &RequestTxn) -> Result<Grouped> {
        let (keys, _) = self.distinct.insert(distinct(&self.waiting));
        txn.grouped(keys)
    }

    fn answer(self: Box<Self>, txn: &RequestTxn, rows: &[TallyRow]) {
        let (keys, asked) = self.distinct.unwrap_or_else(|| distinct(&self.waiting));
        let outcome = txn.answer(&keys, rows);
        reply(self.waiting, asked, outcome);
    }

    fn fail(self: Box<Self>, err: Error) {
        reply(self.waiting, Map::default(), Err(err));
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

impl Batcher {
    /// A batcher reading through `txn`.
    pub fn new(txn: RequestTxn) -> Self {
        Self {
            inner: Arc::new(Inner {
                txn,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The request's transaction, which this batcher reads through.
    pub fn txn(&self) -> &RequestTxn {
        &self.inner.txn
    }

    /// The value of `key`, fetched in the next wave together with every other key queued
    /// before it — or at once, when an earlier level's statement read it ahead
    /// (`crate::prefetch`); `None` when there is none.
    pub async fn load<K>(&self, key: K) -> Result<Option<<RequestTxn as Fetch<K>>::Value>>
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        RequestTxn: Fetch<K>,
    {
        self.enqueue(key, false).await
    }

    /// [`Batcher::load`], for a key that may ride on another read of its wave
    /// (`crate::ride`) when every key of its type in the wave was asked so and the wave
    /// has a read of another type first: a root found by id, asked for together with
    /// its first nested level (`bduf_graphql::support::root`). Whether a read rides
    /// depends on who asks, in which order — the query's shape — never on the data.
    pub async fn load_riding<K>(&self, key: K) -> Result<Option<<RequestTxn as Fetch<K>>::Value>>
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        RequestTxn: Fetch<K>,
    {
        self.enqueue(key, true).await
    }

    async fn enqueue<K>(
        &self,
        key: K,
        rides: bool,
    ) -> Result<Option<<RequestTxn as Fetch<K>>::Value>>
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        RequestTxn: Fetch<K>,
    {
        // Read ahead with an earlier level's rows (`crate::prefetch`): no fetch.
        if let Some(value) = self
            .inner
            .txn
            .primed::<K, <RequestTxn as Fetch<K>>::Value>(&key)
        {
            return Ok(value);
        }
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.inner.lock();
            let State { queues, jobs, .. } = &mut *state;
            let queue = queues
                .entry(TypeId::of::<K>())
                .or_insert_with(|| {
                    Box::new(Queue::<K, <RequestTxn as Fetch<K>>::Value> {
                        waiting: Vec::new(),
                        rides,
                    })
                })
                .downcast_mut::<Queue<K, <RequestTxn as Fetch<K>>::Value>>()
                .expect("one queue type per key type");
            if queue.waiting.is_empty() {
                let inner = Arc::clone(&self.inner);
                jobs.push(Box::new(move |may_ride| inner.start::<K>(may_ride)));
            }
            queue.rides &= rides;
            queue.waiting.push((key, reply));
        }
        answer.await.map_err(|_| Error::Cancelled)?
    }

    /// The value of aggregate key `key`, fetched in the next wave in one statement with
    /// every other aggregate key queued before it, of whatever type; `None` when there
    /// is none.
    pub async fn tally<K>(&self, key: K) -> Result<Option<<RequestTxn as Tally<K>>::Value>>
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        RequestTxn: Tally<K>,
    {
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.inner.lock();
            state
                .tallies
                .entry(TypeId::of::<K>())
                .or_insert_with(|| {
                    Box::new(TallyQueue::<K, <RequestTxn as Tally<K>>::Value> {
                        waiting: Vec::new(),
                        distinct: None,
                    })
                })
                .as_any()
                .downcast_mut::<TallyQueue<K, <RequestTxn as Tally<K>>::Value>>()
                .expect("one queue type per key type")
                .waiting
                .push((key, reply));
        }
        answer.await.map_err(|_| Error::Cancelled)?
    }

    /// Takes the next wave: a future per key type with queued keys and, when aggregate
    /// keys are queued, one for all of them. On PostgreSQL, when the wave has other
    /// fetches, the aggregates ride on the first read one of them sends (their statement
    /// becomes part of it: `crate::ride`), and so does a key type's read of one row that
    /// can ([`Fetch::rider`]; not the wave's first key type, so that some read is left to
    /// carry): they cost no statement of their own. A rider without such a read runs
    /// alone once the wave's fetches are done.
    fn take_wave(&self) -> Vec<BoxFuture<'static, ()>> {
        let (jobs, tallies) = {
            let mut state = self.inner.lock();
            (
                std::mem::take(&mut state.jobs),
                std::mem::take(&mut state.tallies),
            )
        };
        let postgres = self.inner.txn.backend() == DbBackend::Postgres;
        let mut fetches: Vec<BoxFuture<'static, ()>> = Vec::with_capacity(jobs.len());
        let mut riders = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            match job(postgres && i > 0) {
                Started::Fetch(fetch) => fetches.push(fetch),
                Started::Rides(rider) => riders.push(rider),
            }
        }
        let tallies = self.inner.prepare(tallies);
        if tallies.is_none() && riders.is_empty() {
            return fetches;
        }
        let inner = Arc::clone(&self.inner);
        if fetches.is_empty() || !postgres {
            // Nothing to ride on (only aggregates are queued, or SQLite).
            if let Some((ready, select)) = tallies {
                fetches.push(Box::pin(async move {
                    let rows = inner.tallied(&select).await;
                    answer_tallies(&inner.txn, ready, rows);
                }));
            }
            return fetches;
        }
        let left = Arc::new(Left {
            n: AtomicUsize::new(fetches.len()),
            waker: AtomicWaker::new(),
        });
        let mut wave: Vec<BoxFuture<'static, ()>> = fetches
            .into_iter()
            .map(|fetch| {
                let left = Arc::clone(&left);
                Box::pin(async move {
                    fetch.await;
                    left.done();
                }) as BoxFuture<'static, ()>
            })
            .collect();
        wave.extend(riders.into_iter().map(|rider| rider(Arc::clone(&left))));
        if let Some((ready, select)) = tallies {
            let (reply, answer) = oneshot::channel();
            self.inner.txn.ride_tallies(Tallies {
                select: select.clone(),
                reply,
            });
            wave.push(Box::pin(async move {
                let rows = match carried(answer, &left).await {
                    Some(rows) => rows,
                    None => {
                        // No read of the wave carried them: alone, after the wave's fetches.
                        inner.txn.unride_tallies();
                        inner.tallied(&select).await
                    }
                };
                answer_tallies(&inner.txn, ready, rows);
            }));
        }
        wave
    }
}

/// How many fetches of a wave are still running, and the aggregates' task to wake when
/// none is.
struct Left {
    n: AtomicUsize,
    waker: AtomicWaker,
}

impl Left {
    fn done(&self) {
        if self.n.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.waker.wake();
        }
    }
}

type Tallied = Result<Carried>;

/// A rider's answer from the read that carried it, or `None` once every fetch of the
/// wave is done without one having carried it.
async fn carried<T>(mut answer: oneshot::Receiver<T>, left: &Left) -> Option<T> {
    poll_fn(|cx| {
        left.waker.register(cx.waker());
        if let Poll::Ready(outcome) = answer.poll_unpin(cx) {
            return Poll::Ready(outcome.ok());
        }
        if left.n.load(Ordering::SeqCst) == 0 {
            // A carrying read answers before its fetch ends: look once more.
            return Poll::Ready(answer.try_recv().ok().flatten());
        }
        Poll::Pending
    })
    .await
}

/// Answers each type of aggregate key from the rows of its part (`_m`).
fn answer_tallies(txn: &RequestTxn, ready: Vec<Box<dyn Pending>>, rows: Tallied) {
    match rows {
        Ok(rows) => {
            let mut by_part: Vec<Vec<TallyRow>> = (0..ready.len()).map(|_| Vec::new()).collect();
            for (m, row) in rows {
                if let Some(part) = by_part.get_mut(m) {
                    part.push(row);
                }
            }
            for (queue, rows) in ready.into_iter().zip(by_part) {
                queue.answer(txn, &rows);
            }
        }
        Err(err) => {
            for queue in ready {
                queue.fail(err.clone());
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only queues behind; they stay usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the fetch of every queued key of type `K`, which answers their waiters: by
    /// a statement of its own, or, when it `may_ride`, every waiter asked so
    /// ([`Batcher::load_riding`]) and the key type can ([`Fetch::rider`]), riding on
    /// another read of the wave.
    fn start<K>(self: Arc<Self>, may_ride: bool) -> Started
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
        RequestTxn: Fetch<K>,
    {
        let (waiting, rides) = self
            .lock()
            .queues
            .remove(&TypeId::of::<K>())
            .and_then(|q| {
                q.downcast::<Queue<K, <RequestTxn as Fetch<K>>::Value>>()
                    .ok()
            })
            .map(|q| (q.waiting, q.rides))
            .unwrap_or_default();
        let (keys, asked) = distinct(&waiting);
        let rides = if may_ride && rides {
            self.txn.rider(&keys)
        } else {
            Vec::new()
        };
        if rides.is_empty() {
            return Started::Fetch(Box::pin(async move {
                let outcome = self.txn.fetch(&keys).await;
                reply(waiting, asked, outcome);
            }));
        }
        let riding: Vec<_> = rides
            .into_iter()
            .map(|ride| {
                let (reply_to, answer) = oneshot::channel();
                (self.txn.ride_row(ride, reply_to), answer)
            })
            .collect();
        Started::Rides(Box::new(move |left: Arc<Left>| {
            Box::pin(async move {
                let mut answers = Map::default();
                let mut failed = None;
                let mut alone = false;
                let mut ids = Vec::with_capacity(riding.len());
                for (id, answer) in riding {
                    ids.push(id);
                    match carried(answer, &left).await {
                        Some(Ok(values)) => answers.extend(values),
                        Some(Err(err)) => failed = Some(err),
                        None => alone = true,
                    }
                }
                let outcome = if alone {
                    // The wave's reads ended without one carrying them (they are carried
                    // together or not at all): alone, after them.
                    for id in ids {
                        self.txn.unride_row(id);
                    }
                    self.txn.fetch(&keys).await
                } else {
                    failed.map_or(Ok(answers), Err)
                };
                reply(waiting, asked, outcome);
            })
        }))
    }

    /// The selects of the queued aggregate keys, in the order of their types' names, as
    /// one statement ([`merged`]), and the queues they answer. A type whose select cannot
    /// be made (a bad input) fails at once, alone. `None` when nothing is left to run.
    fn prepare(
        &self,
        tallies: HashMap<TypeId, Box<dyn Pending>>,
    ) -> Option<(Vec<Box<dyn Pending>>, SelectStatement)> {
        let mut queued: Vec<Box<dyn Pending>> = tallies.into_values().collect();
        queued.sort_by_key(|queue| queue.name());
        let mut parts = Vec::with_capacity(queued.len());
        let mut ready = Vec::with_capacity(queued.len());
        for mut queue in queued {
            match queue.grouped(&self.txn) {
                Ok(part) => {
                    parts.push(part);
                    ready.push(queue);
                }
                Err(err) => queue.fail(err),
            }
        }
        merged(&parts).map(|select| (ready, select))
    }

    /// Runs the aggregates' statement alone.
    async fn tallied(&self, select: &SelectStatement) -> Tallied {
        let rows = self.txn.query(self.txn.backend().build(select)).await?;
        Ok(rows
            .iter()
            .map(TallyRow::read)
            .collect::<Result<_, sea_orm::DbErr>>()?)
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
                let jobs = batcher.take_wave();
                if jobs.is_empty() {
                    return Poll::Pending;
                }
                wave.extend(jobs);
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
