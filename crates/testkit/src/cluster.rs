//! A Redis Cluster of real servers: N masters on free loopback ports, slots split evenly, no
//! replicas. It is built the way `redis-cli --cluster create` builds one (ADDSLOTS, a distinct
//! config epoch per node, CLUSTER MEET), without needing a redis-cli of the same version.

mod migration;

use std::time::{Duration, Instant};

use crate::server::{free_port, installed_version};
use crate::{Error, Product, Reply, Server};

/// Slots in a cluster.
const SLOTS: usize = 16384;
/// Forming takes 2–3 s on loopback (gossip every 100 ms, then the state turns ok).
const FORM_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirections followed by [`Cluster::cmd`] before it gives up (a slot moving in a loop).
const MAX_REDIRECTS: usize = 5;

/// A running cluster. Dropping it stops every node.
pub struct Cluster {
    nodes: Vec<Server>,
}

impl Cluster {
    /// Starts `masters` nodes of the named server (Redis 7.0+ or Valkey) and waits until every
    /// node reports `cluster_state:ok` with all slots assigned; panics (failing the test) with
    /// each node's `CLUSTER INFO` and log if it does not form in time.
    #[track_caller]
    pub fn start(name: &str, masters: usize) -> Cluster {
        Self::try_start(name, masters).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(name: &str, masters: usize) -> Result<Cluster, Error> {
        let not_ready = |reason: String, log: String| Error::NotReady {
            name: format!("a cluster of {masters} {name}"),
            reason,
            log,
        };
        let version = installed_version(name)?;
        // The bus port is the client port + 10000 unless set, which can exceed 65535 for the
        // ephemeral ports tests get; `cluster-port` (7.0+) places it on a free port instead.
        if version.product == Product::Redis && !version.at_least(7, 0, 0) {
            return Err(not_ready(
                format!("{version} has no cluster-port setting; use Redis 7.0+ or Valkey"),
                String::new(),
            ));
        }
        if masters == 0 || masters > SLOTS {
            return Err(not_ready(format!("cannot split {SLOTS} slots over {masters} masters"), String::new()));
        }
        let mut nodes = Vec::with_capacity(masters);
        let mut bus_ports = Vec::with_capacity(masters);
        for _ in 0..masters {
            let bus_port = free_port()?;
            bus_ports.push(bus_port);
            nodes.push(
                Server::builder(name)
                    .arg("--cluster-enabled")
                    .arg("yes")
                    .arg("--cluster-config-file")
                    .arg("nodes.conf")
                    .arg("--cluster-port")
                    .arg(bus_port.to_string())
                    .try_start()?,
            );
        }
        let cluster = Cluster { nodes };
        let setup = |node: &Server, args: Vec<String>| -> Result<(), Error> {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            match node.cmd(&args) {
                Reply::Status(s) if s == "OK" => Ok(()),
                other => Err(not_ready(
                    format!("{} {} answered {other:?}", node.name(), String::from_utf8_lossy(&args[..2].join(&b' '))),
                    node.log(),
                )),
            }
        };
        for (i, node) in cluster.nodes.iter().enumerate() {
            let (start, end) = (i * SLOTS / masters, (i + 1) * SLOTS / masters);
            for chunk in (start..end).collect::<Vec<_>>().chunks(1000) {
                let mut args = vec!["CLUSTER".to_string(), "ADDSLOTS".to_string()];
                args.extend(chunk.iter().map(|s| s.to_string()));
                setup(node, args)?;
            }
            // Distinct epochs, so no node has to win a collision before the slots settle.
            setup(node, vec!["CLUSTER".into(), "SET-CONFIG-EPOCH".into(), (i + 1).to_string()])?;
        }
        // MEET names the bus port too: without it the node assumes the client port + 10000.
        for (node, bus_port) in cluster.nodes.iter().zip(&bus_ports).skip(1) {
            let meet = ["CLUSTER", "MEET", "127.0.0.1", &node.port().to_string(), &bus_port.to_string()];
            setup(&cluster.nodes[0], meet.iter().map(|s| s.to_string()).collect())?;
        }
        cluster.wait_ok().map_err(|reason| not_ready(reason, cluster.logs()))?;
        Ok(cluster)
    }

    /// The nodes, in slot order: node i serves the i-th equal share of the slots.
    pub fn nodes(&self) -> &[Server] {
        &self.nodes
    }

    /// The first node's URL; a cluster client finds the rest from it.
    pub fn url(&self) -> String {
        self.nodes[0].url()
    }

    /// Runs a command on the node that serves its key: sent to the first node, then wherever
    /// `-MOVED` or `-ASK` points. Other errors are returned as [`Reply::Error`].
    #[track_caller]
    pub fn cmd(&self, args: &[&[u8]]) -> Reply {
        let mut node = &self.nodes[0];
        let mut asking = false;
        for _ in 0..=MAX_REDIRECTS {
            if asking {
                node.cmd_str(&["ASKING"]).expect_ok();
            }
            let reply = node.cmd(args);
            let Reply::Error(e) = &reply else { return reply };
            let mut words = e.split(' ');
            let kind = words.next();
            if kind != Some("MOVED") && kind != Some("ASK") {
                return reply;
            }
            asking = kind == Some("ASK");
            let port = words.nth(1).and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| p.parse::<u16>().ok());
            node = self
                .nodes
                .iter()
                .find(|n| Some(n.port()) == port)
                .unwrap_or_else(|| panic!("redirected to a node outside the cluster: {e}"));
        }
        panic!("more than {MAX_REDIRECTS} redirections for {:?}", String::from_utf8_lossy(&args.join(&b' ')));
    }

    /// [`Cluster::cmd`] with string arguments.
    #[track_caller]
    pub fn cmd_str(&self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&args)
    }

    /// Polls every node until each sees the whole cluster: state ok, all slots, all nodes.
    fn wait_ok(&self) -> Result<(), String> {
        let started = Instant::now();
        let want = [
            "cluster_state:ok".to_string(),
            format!("cluster_slots_assigned:{SLOTS}"),
            format!("cluster_known_nodes:{}", self.nodes.len()),
        ];
        loop {
            let infos: Vec<String> = self.nodes.iter().map(cluster_info).collect();
            if infos.iter().all(|info| want.iter().all(|w| info.lines().any(|l| l.trim() == w))) {
                return Ok(());
            }
            if started.elapsed() > FORM_TIMEOUT {
                let report: Vec<String> =
                    self.nodes.iter().zip(&infos).map(|(n, i)| format!("node {}:\n{i}", n.port())).collect();
                return Err(format!("not cluster_state:ok within {FORM_TIMEOUT:?}:\n{}", report.join("\n")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn logs(&self) -> String {
        self.nodes.iter().map(|n| format!("--- node {} ---\n{}", n.port(), n.log())).collect()
    }
}

fn cluster_info(node: &Server) -> String {
    match node.cmd_str(&["CLUSTER", "INFO"]) {
        Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => format!("{other:?}"),
    }
}
