//! Every test database is private to its test, on both backends.

use bduf_testkit::{Backend, TestDb};
use sea_orm::{ConnectionTrait, Statement};

/// A table made in one test database is not in another made beside it, and the
/// PostgreSQL one really is PostgreSQL (it was not skipped or swapped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_test_database_is_its_own() {
    for backend in Backend::ALL {
        let first = TestDb::empty(backend).await;
        let second = TestDb::empty(backend).await;
        assert_ne!(first.url(), second.url());
        assert_eq!(first.conn().get_database_backend(), backend.db_backend());
        first
            .conn()
            .execute_unprepared("CREATE TABLE mine (id INTEGER)")
            .await
            .expect("creating a table");
        let probe = match backend {
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'mine'"
            }
            Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'mine'",
        };
        let count = |db: &TestDb| {
            let conn = db.conn().clone();
            async move {
                let row = conn
                    .query_one_raw(Statement::from_string(backend.db_backend(), probe))
                    .await
                    .expect("probing")
                    .expect("a row");
                row.try_get::<i64>("", "n").expect("a count")
            }
        };
        assert_eq!(count(&first).await, 1, "{backend:?}");
        assert_eq!(
            count(&second).await,
            0,
            "{backend:?}: the databases are shared"
        );
    }
}
