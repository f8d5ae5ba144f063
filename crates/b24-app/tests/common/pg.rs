//! A real PostgreSQL server for the tests: `initdb` into a temp dir and `postgres` on a free
//! loopback port, both from `/usr/lib/postgresql/<version>/bin` (Debian: `apt-get install
//! postgresql`). As root, the server runs as the `postgres` user (it refuses to run as root).
//! Stopped and deleted on drop.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PgServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL must be installed (Debian: apt-get install postgresql)")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect("no /usr/lib/postgresql/<version>/bin/postgres")
}

/// The uid and gid of the `postgres` user, when this process runs as root.
fn run_as() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .expect("a postgres user (Debian's package makes one)")
    };
    Some((id("-u"), id("-g")))
}

fn command(bin: &Path, user: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(bin);
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command.env_remove("PGDATA").stdout(Stdio::null()).stderr(Stdio::null());
    command
}

impl PgServer {
    pub fn start() -> PgServer {
        let bin = bin_dir();
        let user = run_as();
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a port");
        let dir = std::env::temp_dir().join(format!("b24-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the data dir");
        }
        let data = dir.join("data");
        let status = command(&bin.join("initdb"), user)
            .args(["-D"])
            .arg(&data)
            .args(["-U", "b24", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        let child = command(&bin.join("postgres"), user)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-k"])
            .arg(&dir)
            .spawn()
            .expect("postgres starts");
        let server = PgServer { port, dir, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "postgres did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A libpq connection string for the server's `postgres` database.
    pub fn params(&self) -> String {
        format!("host=127.0.0.1 port={} user=b24 dbname=postgres", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT: a fast shutdown that also ends the server's own children.
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
