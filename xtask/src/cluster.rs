//! The managed PostgreSQL cluster: a throwaway server that xtask runs itself when no
//! database URL is configured, so `cargo xtask test` needs nothing set up by hand.
//!
//! It lives in `target/pg/`: the cluster in `data/` (made by `initdb` with trust
//! authentication for the superuser `postgres`, on first use or when the folder is not a
//! cluster of the installed PostgreSQL), the chosen port in `port`, the server log in
//! `postgres.log` and the unix sockets beside them. It listens on 127.0.0.1 only, on a
//! port chosen once (derived from the workspace path, so two checkouts do not collide)
//! and chosen again only when another program has taken it. It favours speed over
//! durability (`fsync = off`): it holds nothing but test and benchmark data.
//!
//! Every xtask command that uses the cluster holds a shared lock on `use.lock` while it
//! runs. When it ends it stops the cluster (`pg_ctl stop -m fast`) if it can take that
//! lock exclusively, that is when no other xtask command still uses it; so concurrent
//! commands share one server and the last one to finish stops it. A watchdog process
//! does the same if xtask dies without cleaning up (Ctrl-C, a kill): it waits for the end
//! of a pipe from xtask, which the kernel closes however xtask ends.
//!
//! PostgreSQL refuses to run as root, so when xtask runs as root (containers, CI) the
//! cluster belongs to an unprivileged user, `postgres` if it exists and else `nobody`,
//! and `initdb` and `pg_ctl` run as that user through util-linux's `setpriv`. That user
//! must be able to reach `target/pg`; when a parent folder is closed to it (a workspace
//! under `/root`, mode 0700) the cluster lives in the system's temporary folder instead.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// The superuser `initdb` creates. Trust authentication: it needs no password.
pub const SUPERUSER: &str = "postgres";

/// Ports the cluster picks from (below Linux's ephemeral range, 32768 and up).
const PORTS: std::ops::Range<u16> = 20000..30000;

/// The server log is started afresh when it grows beyond this.
const MAX_LOG_BYTES: u64 = 8 << 20;

/// The line `initdb`'s `postgresql.conf` gets so that it reads [`settings`].
const INCLUDE_LINE: &str = "include_if_exists = 'xtask.conf'";

/// The managed cluster, running and used by this process. Dropping it stops the cluster
/// unless another xtask command still uses it.
#[derive(Debug)]
pub struct Cluster {
    url: String,
    port: u16,
    layout: Layout,
    tools: Tools,
    /// Held shared while this process uses the cluster.
    use_lock: File,
    watchdog: Option<Child>,
}

/// Where the cluster lives.
#[derive(Debug, Clone)]
struct Layout {
    root: PathBuf,
}

/// The PostgreSQL programs and the user they run as.
#[derive(Debug, Clone)]
struct Tools {
    bindir: PathBuf,
    owner: Owner,
    /// The working directory of the programs: one the owner can enter.
    cwd: PathBuf,
}

/// Who owns the cluster and runs its programs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// The user running xtask (not root).
    Me,
    /// An unprivileged user, because xtask runs as root.
    User { name: String, uid: u32, gid: u32 },
}

/// What to do when no PostgreSQL binaries are installed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Missing {
    /// Install them with this command (as root, with the package manager).
    Install(Vec<&'static str>),
    /// Fail, naming the one command that installs them.
    Fail(String),
}

impl Cluster {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the cluster, its log and its sockets.
    pub fn root(&self) -> &Path {
        &self.layout.root
    }
}

/// Starts the managed cluster, or joins it when another xtask command already runs it:
/// finds (or installs) the PostgreSQL binaries, creates the cluster on first use, picks
/// its port and starts it.
pub fn start() -> Result<Cluster> {
    let bindir = match find_bindir() {
        Some(dir) => dir,
        None => install()?,
    };
    let (layout, owner) = prepare_root()?;
    let tools = Tools {
        bindir,
        owner,
        cwd: layout.root.clone(),
    };
    let use_lock = open_lock(&layout.use_lock())?;
    // Blocks while the last user of a running cluster is stopping it.
    use_lock
        .lock_shared()
        .context("waiting for the PostgreSQL cluster's use lock")?;
    let start_lock = open_lock(&layout.start_lock())?;
    // Blocks while another xtask command creates or starts the cluster.
    start_lock
        .lock()
        .context("waiting for the PostgreSQL cluster's start lock")?;
    let port = ensure_started(&tools, &layout)?;
    drop(start_lock);
    let watchdog = spawn_watchdog(&tools, &layout);
    Ok(Cluster {
        url: url(port),
        port,
        layout,
        tools,
        use_lock,
        watchdog,
    })
}

/// Stops the managed cluster now, whoever started it (`cargo xtask postgres --stop`).
pub fn stop_now() -> Result<()> {
    let Some(bindir) = find_bindir() else {
        eprintln!("xtask: no PostgreSQL binaries are installed, so no cluster runs");
        return Ok(());
    };
    let mut found = false;
    for root in [default_root(), fallback_root()] {
        let layout = Layout { root };
        let Ok(meta) = fs::metadata(layout.data()) else {
            continue;
        };
        found = true;
        let owner = if current_uid()? == 0 {
            owner_of(&meta)
        } else {
            Owner::Me
        };
        let tools = Tools {
            bindir: bindir.clone(),
            owner,
            cwd: layout.root.clone(),
        };
        if running_port(&tools, &layout)?.is_some() {
            stop(&tools, &layout)?;
            eprintln!(
                "xtask: stopped the PostgreSQL cluster in {}",
                layout.root.display()
            );
        } else {
            eprintln!(
                "xtask: the PostgreSQL cluster in {} is not running",
                layout.root.display()
            );
        }
    }
    if !found {
        eprintln!(
            "xtask: there is no managed PostgreSQL cluster in {}",
            default_root().display()
        );
    }
    Ok(())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        match self.use_lock.try_lock() {
            Ok(()) => match running_port(&self.tools, &self.layout) {
                Ok(Some(_)) => match stop(&self.tools, &self.layout) {
                    Ok(()) => eprintln!("xtask: stopped the PostgreSQL cluster"),
                    Err(e) => eprintln!("xtask: could not stop the PostgreSQL cluster: {e:#}"),
                },
                Ok(None) => {}
                Err(e) => eprintln!("xtask: could not check the PostgreSQL cluster: {e:#}"),
            },
            Err(TryLockError::WouldBlock) => eprintln!(
                "xtask: left the PostgreSQL cluster running: another xtask command uses it"
            ),
            Err(TryLockError::Error(e)) => {
                eprintln!("xtask: could not lock the PostgreSQL cluster to stop it: {e}")
            }
        }
        // The watchdog finds the lock taken (by this process, or another user) and exits.
        if let Some(mut watchdog) = self.watchdog.take() {
            drop(watchdog.stdin.take());
            watchdog.wait().ok();
        }
    }
}

impl Layout {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    fn port_file(&self) -> PathBuf {
        self.root.join("port")
    }
    fn log(&self) -> PathBuf {
        self.root.join("postgres.log")
    }
    fn use_lock(&self) -> PathBuf {
        self.root.join("use.lock")
    }
    fn start_lock(&self) -> PathBuf {
        self.root.join("start.lock")
    }
}

impl Owner {
    /// The argument vector that runs `program` as this user.
    fn argv(&self, program: &OsStr, args: &[&OsStr]) -> Vec<OsString> {
        let mut argv: Vec<OsString> = Vec::new();
        if let Owner::User { uid, gid, .. } = self {
            argv.extend(
                [
                    "setpriv".to_owned(),
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".to_owned(),
                    "--".to_owned(),
                ]
                .map(OsString::from),
            );
        }
        argv.push(program.to_owned());
        argv.extend(args.iter().map(|a| a.to_os_string()));
        argv
    }

    fn name(&self) -> &str {
        match self {
            Owner::Me => "",
            Owner::User { name, .. } => name,
        }
    }
}

impl Tools {
    /// The argument vector that runs PostgreSQL program `tool` as the cluster's owner.
    fn argv(&self, tool: &str, args: &[&OsStr]) -> Vec<OsString> {
        self.owner.argv(self.bindir.join(tool).as_os_str(), args)
    }

    fn command(&self, tool: &str, args: &[&OsStr]) -> Command {
        command(&self.argv(tool, args), &self.cwd)
    }

    /// Runs `tool` to completion, failing with its output if it fails.
    fn run(&self, tool: &str, args: &[&OsStr]) -> Result<Output> {
        let output = self
            .command(tool, args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.bindir.join(tool).display()))?;
        if !output.status.success() {
            bail!(
                "{tool} failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(output)
    }

    /// The major version of the binaries, from `pg_ctl --version`.
    fn major_version(&self) -> Result<u32> {
        let output = Command::new(self.bindir.join("pg_ctl"))
            .arg("--version")
            .output()
            .context("running pg_ctl --version")?;
        let text = String::from_utf8_lossy(&output.stdout);
        major_version(&text).with_context(|| format!("reading the version in {text:?}"))
    }
}

/// A command from an argument vector, started in `cwd`.
fn command(argv: &[OsString], cwd: &Path) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(cwd).env("LC_ALL", "C");
    cmd
}

/// Makes sure the cluster exists and runs; returns its port. Called under the start lock.
fn ensure_started(tools: &Tools, layout: &Layout) -> Result<u16> {
    let version = tools.major_version()?;
    match cluster_version(&layout.data()) {
        Some(v) if v == version => {}
        found => {
            if let Some(v) = found {
                eprintln!(
                    "xtask: {} holds a PostgreSQL {v} cluster, but the binaries are version \
                     {version}; making a new one",
                    layout.data().display()
                );
            }
            initdb(tools, layout)?;
        }
    }
    ensure_include(tools, layout)?;
    if let Some(port) = running_port(tools, layout)? {
        eprintln!("xtask: reusing the running PostgreSQL cluster on port {port}");
        return Ok(port);
    }
    let remembered = fs::read_to_string(layout.port_file())
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let port = match choose_port(remembered, candidate_port(&layout.root), port_is_free) {
        Some(port) => port,
        None => any_free_port()?,
    };
    if let Some(old) = remembered.filter(|&r| r != port) {
        eprintln!("xtask: port {old} is taken by another program; using {port}");
    }
    fs::write(layout.port_file(), format!("{port}\n")).context("remembering the port")?;
    write_owned(
        tools,
        &layout.data().join("xtask.conf"),
        &settings(port, &socket_dir(&layout.root)),
    )?;
    if fs::metadata(layout.log()).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        fs::remove_file(layout.log()).context("starting a new server log")?;
    }
    eprintln!(
        "xtask: starting PostgreSQL {version} (cluster in {}, port {port})",
        layout.root.display()
    );
    let data = layout.data();
    let log = layout.log();
    let started = tools
        .command(
            "pg_ctl",
            &[
                "start".as_ref(),
                "--silent".as_ref(),
                "--wait".as_ref(),
                "--timeout=60".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
            ],
        )
        .stdin(Stdio::null())
        // Not in the terminal's process group, so that Ctrl-C reaches xtask, not the server.
        .process_group(0)
        .output()
        .context("running pg_ctl start")?;
    if !started.status.success() {
        let log_text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = log_text.lines().rev().take(15).collect();
        bail!(
            "pg_ctl start failed ({}): {}\nThe end of {}:\n{}\nIf the cluster is damaged, \
             delete {} and run the command again.",
            started.status,
            String::from_utf8_lossy(&started.stderr).trim(),
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            layout.root.display()
        );
    }
    Ok(port)
}

/// Creates the cluster (after removing whatever is in the data folder).
fn initdb(tools: &Tools, layout: &Layout) -> Result<()> {
    let data = layout.data();
    if data.exists() {
        fs::remove_dir_all(&data).with_context(|| format!("removing {}", data.display()))?;
    }
    let locale = pick_locale(
        &Command::new("locale")
            .arg("-a")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default(),
    );
    let user = match &tools.owner {
        Owner::Me => String::new(),
        owner => format!(", owned by {}", owner.name()),
    };
    eprintln!(
        "xtask: creating a PostgreSQL cluster in {}{user}",
        data.display()
    );
    tools.run(
        "initdb",
        &[
            "-D".as_ref(),
            data.as_os_str(),
            "--auth=trust".as_ref(),
            "-U".as_ref(),
            SUPERUSER.as_ref(),
            "--encoding=UTF8".as_ref(),
            format!("--locale={locale}").as_ref(),
            "--no-sync".as_ref(),
        ],
    )?;
    Ok(())
}

/// Makes `postgresql.conf` read `xtask.conf`, once.
fn ensure_include(tools: &Tools, layout: &Layout) -> Result<()> {
    let conf = layout.data().join("postgresql.conf");
    let text = fs::read_to_string(&conf).with_context(|| format!("reading {}", conf.display()))?;
    if !text.lines().any(|l| l.trim() == INCLUDE_LINE) {
        let mut file = OpenOptions::new()
            .append(true)
            .open(&conf)
            .with_context(|| format!("opening {}", conf.display()))?;
        writeln!(file, "\n# Added by cargo xtask.\n{INCLUDE_LINE}")
            .with_context(|| format!("writing {}", conf.display()))?;
    }
    // Start the included file empty, so a half-made cluster still starts.
    let included = layout.data().join("xtask.conf");
    if !included.exists() {
        write_owned(tools, &included, "")?;
    }
    Ok(())
}

/// Writes `path` and gives it to the cluster's owner.
fn write_owned(tools: &Tools, path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    if let Owner::User { uid, gid, .. } = &tools.owner {
        std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
            .with_context(|| format!("giving {} to uid {uid}", path.display()))?;
    }
    Ok(())
}

/// The port of the running cluster, or `None` when it is not running.
fn running_port(tools: &Tools, layout: &Layout) -> Result<Option<u16>> {
    let data = layout.data();
    let status = tools
        .command(
            "pg_ctl",
            &["status".as_ref(), "-D".as_ref(), data.as_os_str()],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running pg_ctl status")?;
    // pg_ctl status: 0 running, 3 not running, 4 no cluster.
    if !status.success() {
        return Ok(None);
    }
    let pid_file = data.join("postmaster.pid");
    let text =
        fs::read_to_string(&pid_file).with_context(|| format!("reading {}", pid_file.display()))?;
    Ok(Some(pid_file_port(&text).with_context(|| {
        format!("reading the port in {}", pid_file.display())
    })?))
}

/// `pg_ctl stop -m fast`.
fn stop(tools: &Tools, layout: &Layout) -> Result<()> {
    let data = layout.data();
    tools.run(
        "pg_ctl",
        &[
            "stop".as_ref(),
            "--silent".as_ref(),
            "--wait".as_ref(),
            "--timeout=60".as_ref(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-D".as_ref(),
            data.as_os_str(),
        ],
    )?;
    Ok(())
}

/// Starts the process that stops the cluster when this one dies without doing it itself:
/// it waits for the end of its stdin, then stops the cluster if no xtask command holds
/// the use lock. `None` without util-linux's `flock`.
fn spawn_watchdog(tools: &Tools, layout: &Layout) -> Option<Child> {
    find_in_path("flock")?;
    let data = layout.data();
    let stop = tools.argv(
        "pg_ctl",
        &[
            "stop".as_ref(),
            "--silent".as_ref(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-D".as_ref(),
            data.as_os_str(),
        ],
    );
    let script = "cat > /dev/null; \
                  if flock --nonblock --exclusive \"$0\" \"$@\" 2> /dev/null; then \
                  echo 'xtask: stopped the PostgreSQL cluster (the xtask command using it ended)' >&2; \
                  fi";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(layout.use_lock())
        .args(stop)
        .current_dir(&layout.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        // Ctrl-C in the terminal must not reach it: it outlives xtask on purpose.
        .process_group(0)
        .spawn()
        .map_err(|e| eprintln!("xtask: no watchdog for the PostgreSQL cluster: {e}"))
        .ok()
}

/// Creates the cluster's folder, choosing who owns it; falls back to the temporary folder
/// when that user cannot reach `target/pg`.
fn prepare_root() -> Result<(Layout, Owner)> {
    let root = default_root();
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    if current_uid()? != 0 {
        return Ok((Layout { root }, Owner::Me));
    }
    let owner = match fs::metadata(root.join("data")) {
        // An existing cluster keeps its owner.
        Ok(meta) if meta.uid() != 0 => owner_of(&meta),
        _ => unprivileged_user()?,
    };
    if give_and_check(&root, &owner)? {
        return Ok((Layout { root }, owner));
    }
    let fallback = fallback_root();
    let name = owner.name();
    eprintln!(
        "xtask: user {name} cannot reach {} (a parent folder is closed to other users), \
         so the PostgreSQL cluster lives in {}",
        root.display(),
        fallback.display()
    );
    fs::create_dir_all(&fallback).with_context(|| format!("creating {}", fallback.display()))?;
    if !give_and_check(&fallback, &owner)? {
        bail!(
            "user {name} cannot write to {} either; set BDUF_TEST_DATABASE_URL or \
             DATABASE_URL to a PostgreSQL server instead",
            fallback.display()
        );
    }
    Ok((Layout { root: fallback }, owner))
}

/// Gives `dir` to `owner` and checks that `owner` can write in it.
fn give_and_check(dir: &Path, owner: &Owner) -> Result<bool> {
    let Owner::User { uid, gid, .. } = owner else {
        return Ok(true);
    };
    std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
        .with_context(|| format!("giving {} to uid {uid}", dir.display()))?;
    let argv = owner.argv("test".as_ref(), &["-w".as_ref(), dir.as_os_str()]);
    let status = command(&argv, Path::new("/"))
        .status()
        .context("running setpriv (util-linux) to check the cluster folder")?;
    Ok(status.success())
}

/// `target/pg` of this workspace (`CARGO_TARGET_DIR/pg` when that is set).
fn default_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| crate::workspace_root().join(t))
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    target.join("pg")
}

/// `<temporary folder>/bduf-pg-<hash of the workspace path>`.
fn fallback_root() -> PathBuf {
    let key = crate::workspace_root().display().to_string();
    std::env::temp_dir().join(format!("bduf-pg-{:016x}", fnv1a(key.as_bytes())))
}

fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// The user id this process runs as.
fn current_uid() -> Result<u32> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .context("running id -u")?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .context("reading the output of id -u")
}

/// The owner of an existing cluster folder.
fn owner_of(meta: &fs::Metadata) -> Owner {
    let uid = meta.uid();
    let name = ["postgres", "nobody"]
        .into_iter()
        .find(|n| lookup_user(n).is_some_and(|(u, _)| u == uid))
        .map_or_else(|| format!("uid {uid}"), str::to_owned);
    Owner::User {
        name,
        uid,
        gid: meta.gid(),
    }
}

/// `postgres` if that user exists, else `nobody`.
fn unprivileged_user() -> Result<Owner> {
    for name in ["postgres", "nobody"] {
        if let Some((uid, gid)) = lookup_user(name) {
            return Ok(Owner::User {
                name: name.to_owned(),
                uid,
                gid,
            });
        }
    }
    bail!(
        "xtask runs as root and PostgreSQL refuses to, but there is neither a `postgres` \
         nor a `nobody` user to run it as"
    )
}

/// The user and group ids of user `name`.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let output = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    parse_passwd(String::from_utf8_lossy(&output.stdout).lines().next()?)
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`, else
/// the highest `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu), else the `PATH`.
fn find_bindir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|t| dir.join(t).is_file())
    };
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if complete(&dir) {
            return Some(dir);
        }
    }
    let debian = Path::new("/usr/lib/postgresql");
    if let Ok(entries) = fs::read_dir(debian) {
        let names = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned());
        for version in versions_descending(names) {
            let dir = debian.join(version).join("bin");
            if complete(&dir) {
                return Some(dir);
            }
        }
    }
    find_in_path("initdb")
        .and_then(|p| p.parent().map(Path::to_owned))
        .filter(|d| complete(d))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Installs the PostgreSQL server when that is possible, else fails saying how to.
fn install() -> Result<PathBuf> {
    let root = current_uid()? == 0;
    match on_missing(root, |p| find_in_path(p).is_some()) {
        Missing::Fail(message) => bail!(message),
        Missing::Install(argv) => {
            eprintln!(
                "xtask: no PostgreSQL server binaries (initdb, pg_ctl) found; installing them: {}",
                argv.join(" ")
            );
            for step in [&["apt-get", "update", "-q"][..], &argv] {
                let status = Command::new(step[0])
                    .args(&step[1..])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status()
                    .with_context(|| format!("running {}", step.join(" ")))?;
                if !status.success() {
                    bail!("`{}` failed ({status})", step.join(" "));
                }
            }
            find_bindir()
                .context("installed the `postgresql` package, but still found no initdb and pg_ctl")
        }
    }
}

/// What to do without binaries: install them as root with apt-get, else fail naming the
/// command for the package manager there is.
fn on_missing(root: bool, has: impl Fn(&str) -> bool) -> Missing {
    if root && has("apt-get") {
        return Missing::Install(vec![
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "postgresql",
        ]);
    }
    let sudo = if root { "" } else { "sudo " };
    let command = if has("apt-get") {
        format!("{sudo}apt-get install -y postgresql")
    } else if has("dnf") {
        format!("{sudo}dnf install -y postgresql-server postgresql-contrib")
    } else if has("brew") {
        "brew install postgresql@17".to_owned()
    } else if has("pacman") {
        format!("{sudo}pacman -S --noconfirm postgresql")
    } else {
        "install the PostgreSQL server from https://www.postgresql.org/download/".to_owned()
    };
    Missing::Fail(format!(
        "no PostgreSQL server binaries (initdb, pg_ctl) found. Install them:\n\n    \
         {command}\n\nand run the command again; xtask then runs its own throwaway cluster \
         in target/pg. (Or set BDUF_TEST_DATABASE_URL / DATABASE_URL to a server you run.)"
    ))
}

/// `postgres://postgres@127.0.0.1:<port>/postgres`.
pub fn url(port: u16) -> String {
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres")
}

/// The port to use: the remembered one if it is free, else the first free one from
/// `candidate` on (wrapping within [`PORTS`], at most 100 tries).
fn choose_port(
    remembered: Option<u16>,
    candidate: u16,
    is_free: impl Fn(u16) -> bool,
) -> Option<u16> {
    if let Some(port) = remembered
        && is_free(port)
    {
        return Some(port);
    }
    let len = PORTS.end - PORTS.start;
    let offset = candidate.saturating_sub(PORTS.start) % len;
    (0..100)
        .map(|i| PORTS.start + (offset + i) % len)
        .find(|&p| Some(p) != remembered && is_free(p))
}

/// A port in [`PORTS`] derived from the cluster's folder, so that checkouts differ.
fn candidate_port(root: &Path) -> u16 {
    let len = u64::from(PORTS.end - PORTS.start);
    let offset = fnv1a(root.as_os_str().as_encoded_bytes()) % len;
    PORTS.start + u16::try_from(offset).unwrap_or(0)
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A free port chosen by the system.
fn any_free_port() -> Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))
        .context("finding a free port")?
        .local_addr()?
        .port())
}

/// The server settings xtask writes to `xtask.conf` before every start.
fn settings(port: u16, socket_dir: &str) -> String {
    let socket_dir = socket_dir.replace('\'', "''");
    format!(
        "# Written by cargo xtask before every start of this throwaway cluster; edits are lost.\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = '{socket_dir}'\n\
         max_connections = 200\n\
         # Test and benchmark data only: speed over durability.\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         wal_level = minimal\n\
         max_wal_senders = 0\n\
         max_wal_size = '4GB'\n"
    )
}

/// The folder for the unix sockets: the cluster's own, or none (TCP only) when its path
/// is too long for a socket address (about 107 bytes with `.s.PGSQL.<port>`).
fn socket_dir(root: &Path) -> String {
    let dir = root.display().to_string();
    if dir.len() + "/.s.PGSQL.65535.lock".len() < 107 {
        dir
    } else {
        String::new()
    }
}

/// `C.UTF-8` when the system has it (as Debian's own clusters use), else `C`.
fn pick_locale(locale_a: &str) -> &'static str {
    if locale_a
        .lines()
        .any(|l| l.trim().eq_ignore_ascii_case("c.utf8") || l.trim() == "C.UTF-8")
    {
        "C.UTF-8"
    } else {
        "C"
    }
}

/// The major version of the cluster in `data` (its `PG_VERSION`), if there is one.
fn cluster_version(data: &Path) -> Option<u32> {
    fs::read_to_string(data.join("PG_VERSION"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The major version in `pg_ctl --version` output: `pg_ctl (PostgreSQL) 15.14 (Debian …)`.
fn major_version(text: &str) -> Option<u32> {
    let rest = text.split("(PostgreSQL) ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The names of `/usr/lib/postgresql` that are versions, highest first.
fn versions_descending(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut versions: Vec<(Vec<u32>, String)> = names
        .filter_map(|name| {
            let parts: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            parts.map(|p| (p, name))
        })
        .collect();
    versions.sort();
    versions.into_iter().rev().map(|(_, name)| name).collect()
}

/// The user and group ids of a `getent passwd` line (`name:x:uid:gid:…`).
fn parse_passwd(line: &str) -> Option<(u32, u32)> {
    let mut fields = line.split(':');
    let uid = fields.nth(2)?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    Some((uid, gid))
}

/// The port in `postmaster.pid`: its fourth line.
fn pid_file_port(text: &str) -> Option<u16> {
    text.lines().nth(3)?.trim().parse().ok()
}

/// FNV-1a, a small hash that stays the same across Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_remembered_port_wins_while_it_is_free() {
        assert_eq!(choose_port(Some(25000), 21000, |_| true), Some(25000));
        // Taken: the first free one from the candidate on, never the remembered one.
        assert_eq!(
            choose_port(Some(25000), 21000, |p| p != 25000 && p != 21000),
            Some(21001)
        );
        assert_eq!(choose_port(Some(21000), 21000, |p| p != 21000), Some(21001));
        assert_eq!(choose_port(None, 21000, |_| true), Some(21000));
    }

    #[test]
    fn port_choice_wraps_within_the_range_and_gives_up_after_100_tries() {
        assert_eq!(choose_port(None, 29999, |p| p != 29999), Some(20000));
        assert_eq!(choose_port(None, 21000, |p| p >= 21100), None);
        // A candidate outside the range is folded into it.
        assert!(choose_port(None, 5432, |_| true).is_some_and(|p| PORTS.contains(&p)));
    }

    #[test]
    fn candidate_ports_are_stable_and_differ_between_checkouts() {
        let a = candidate_port(Path::new("/work/main/target/pg"));
        assert_eq!(a, candidate_port(Path::new("/work/main/target/pg")));
        assert!(PORTS.contains(&a));
        assert_ne!(a, candidate_port(Path::new("/work/other/target/pg")));
    }

    #[test]
    fn urls_name_the_superuser_and_the_loopback_address() {
        assert_eq!(url(21234), "postgres://postgres@127.0.0.1:21234/postgres");
    }

    #[test]
    fn settings_listen_on_loopback_with_sockets_in_the_cluster_folder() {
        let text = settings(21234, "/work/o'brien/target/pg");
        assert!(text.contains("port = 21234\n"), "{text}");
        assert!(text.contains("listen_addresses = '127.0.0.1'\n"), "{text}");
        assert!(
            text.contains("unix_socket_directories = '/work/o''brien/target/pg'\n"),
            "{text}"
        );
        assert_eq!(
            socket_dir(Path::new("/work/main/target/pg")),
            "/work/main/target/pg"
        );
        assert_eq!(socket_dir(&Path::new("/x").join("y".repeat(100))), "");
    }

    #[test]
    fn bin_discovery_reads_versions() {
        assert_eq!(
            major_version("pg_ctl (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(major_version("pg_ctl (PostgreSQL) 18beta1\n"), Some(18));
        assert_eq!(major_version("pg_ctl 15\n"), None);
        let names = ["9.6", "15", "common", "10", "17"].map(str::to_owned);
        assert_eq!(
            versions_descending(names.into_iter()),
            ["17", "15", "10", "9.6"]
        );
        assert_eq!(
            pid_file_port("2210\n/var/lib/pg\n1700000000\n5432\n/tmp\n"),
            Some(5432)
        );
        assert_eq!(pid_file_port("2210\n"), None);
    }

    #[test]
    fn passwd_lines_give_user_and_group_ids() {
        assert_eq!(
            parse_passwd("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"),
            Some((65534, 65534))
        );
        assert_eq!(
            parse_passwd("postgres:x:101:104::/var/lib/postgresql:/bin/bash"),
            Some((101, 104))
        );
        assert_eq!(parse_passwd(""), None);
    }

    #[test]
    fn the_locale_is_c_utf8_when_there_is_one() {
        assert_eq!(pick_locale("C\nC.utf8\nPOSIX\n"), "C.UTF-8");
        assert_eq!(pick_locale("C\nPOSIX\n"), "C");
    }

    #[test]
    fn root_commands_run_as_the_owner_through_setpriv() {
        let tools = Tools {
            bindir: PathBuf::from("/usr/lib/postgresql/15/bin"),
            owner: Owner::User {
                name: "nobody".to_owned(),
                uid: 65534,
                gid: 65533,
            },
            cwd: PathBuf::from("/"),
        };
        let argv = tools.argv("pg_ctl", &["status".as_ref()]);
        assert_eq!(
            argv,
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65533",
                "--clear-groups",
                "--",
                "/usr/lib/postgresql/15/bin/pg_ctl",
                "status"
            ]
            .map(OsString::from)
        );
        let me = Tools {
            owner: Owner::Me,
            ..tools
        };
        assert_eq!(me.argv("initdb", &[]).len(), 1);
    }

    #[test]
    fn missing_binaries_are_installed_by_root_with_apt_and_named_otherwise() {
        let apt = |p: &str| p == "apt-get";
        assert!(
            matches!(on_missing(true, apt), Missing::Install(argv) if argv.contains(&"postgresql"))
        );
        let Missing::Fail(message) = on_missing(false, apt) else {
            panic!("a user cannot install packages");
        };
        assert!(
            message.contains("sudo apt-get install -y postgresql"),
            "{message}"
        );
        let Missing::Fail(message) = on_missing(true, |p| p == "dnf") else {
            panic!("only apt-get is run");
        };
        assert!(
            message.contains("\n    dnf install -y postgresql-server"),
            "{message}"
        );
        let Missing::Fail(message) = on_missing(false, |_| false) else {
            panic!("nothing to install with");
        };
        assert!(message.contains("postgresql.org/download"), "{message}");
    }
}
