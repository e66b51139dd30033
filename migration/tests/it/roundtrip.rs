//! Every migration, in order: `up` then `down` restores the schema exactly, and `up` again
//! rebuilds it exactly.

use std::time::Duration;

use bduf_testkit::{Backend, TestDb};
use migration::runner::{self, Command};
use migration::{Migrator, MigratorTrait};

use crate::support::{assert_same_schema, on_both_backends, snapshot};

on_both_backends!(every_migration_round_trips);

async fn every_migration_round_trips(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let conn = db.conn();
    // The ledger table (with its checksums) exists from the first command on; create it
    // up front so that every snapshot, the first included, has it.
    runner::install::<Migrator>(conn)
        .await
        .expect("creating the ledger");
    let timeout = Duration::from_secs(10);
    let mut changed_any = false;
    for migration in Migrator::migrations() {
        let name = migration.name();
        let before = snapshot(conn).await;
        runner::run::<Migrator>(
            conn,
            Command::Up {
                steps: Some(1),
                allow_changed: false,
            },
            timeout,
        )
        .await
        .unwrap_or_else(|e| panic!("up {name}: {e}"));
        let after = snapshot(conn).await;
        changed_any |= before != after;

        runner::run::<Migrator>(conn, Command::Down { steps: 1 }, timeout)
            .await
            .unwrap_or_else(|e| panic!("down {name}: {e}"));
        assert_same_schema(
            &before,
            &snapshot(conn).await,
            &format!("after down of {name}"),
        );

        runner::run::<Migrator>(
            conn,
            Command::Up {
                steps: Some(1),
                allow_changed: false,
            },
            timeout,
        )
        .await
        .unwrap_or_else(|e| panic!("up again {name}: {e}"));
        assert_same_schema(
            &after,
            &snapshot(conn).await,
            &format!("after up again of {name}"),
        );
    }
    assert!(changed_any, "the migrations changed nothing");
    let states = runner::status::<Migrator>(conn).await.expect("status");
    assert!(states.iter().all(|s| s.applied), "{states:?}");
}
