//! Where installed servers live, and install hints for what is missing.
//!
//! The layout is the one `scripts/install-test-servers.sh` writes:
//! `$REDTAIL_SERVERS/<name>/bin/{redis,valkey}-server`, an optional `lib/` with shared libraries
//! the binary needs (OpenSSL 1.1 for the redis-stack builds), and a `.installed` marker that is
//! written last, so a half-finished install never counts.

use std::path::{Path, PathBuf};

use crate::Error;

/// The cache of installed servers: `$REDTAIL_SERVERS`, else `~/.cache/redtail/servers`.
pub fn servers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REDTAIL_SERVERS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("neither REDTAIL_SERVERS nor HOME is set");
    Path::new(&home).join(".cache/redtail/servers")
}

/// The command that installs `name` (a server name such as `redis-7.4`, or `tansu`).
pub fn install_hint(name: &str) -> String {
    format!("scripts/install-test-servers.sh {name}")
}

/// One installed server: its directory in the cache.
#[derive(Debug, Clone)]
pub struct Installation {
    name: String,
    root: PathBuf,
}

/// Finds an installed server by name, or says how to install it.
pub fn installation(name: &str) -> Result<Installation, Error> {
    let root = servers_dir().join(name);
    if root.join(".installed").is_file() {
        Ok(Installation { name: name.to_string(), root })
    } else {
        Err(Error::NotInstalled { name: name.to_string(), hint: install_hint(name) })
    }
}

impl Installation {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server binary: `bin/redis-server`, or `bin/valkey-server` for Valkey.
    pub fn server_binary(&self) -> Result<PathBuf, Error> {
        ["redis-server", "valkey-server", "tansu"]
            .iter()
            .map(|b| self.root.join("bin").join(b))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::NotInstalled {
                name: format!("{} (no server binary in {})", self.name, self.root.display()),
                hint: install_hint(&self.name),
            })
    }

    /// Another program of this installation, e.g. `redis-check-rdb` (a link to the server
    /// binary, which checks RDB files when run under that name) or `redis-cli`.
    pub fn tool(&self, tool: &str) -> Result<PathBuf, Error> {
        let path = self.root.join("bin").join(tool);
        if path.exists() {
            Ok(path)
        } else {
            Err(Error::NotInstalled { name: format!("{tool} of {}", self.name), hint: install_hint(&self.name) })
        }
    }

    /// The directory to put on `LD_LIBRARY_PATH`, when the binary needs bundled libraries.
    pub fn lib_dir(&self) -> Option<PathBuf> {
        let lib = self.root.join("lib");
        lib.is_dir().then_some(lib)
    }

    /// A command for one of this installation's programs, with its library path set.
    pub fn command(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        if let Some(lib) = self.lib_dir() {
            let mut path = lib.into_os_string();
            if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
                path.push(":");
                path.push(old);
            }
            cmd.env("LD_LIBRARY_PATH", path);
        }
        cmd
    }
}

/// The path of an external tool such as `redis-cli`, `redis-check-rdb` or `redis-benchmark`;
/// panics with an install hint if it is not on `PATH`.
pub fn require_tool(tool: &str) -> PathBuf {
    try_require_tool(tool).unwrap_or_else(|e| panic!("{e}"))
}

fn try_require_tool(tool: &str) -> Result<PathBuf, Error> {
    let found =
        std::env::var_os("PATH").iter().flat_map(std::env::split_paths).map(|dir| dir.join(tool)).find(|p| p.is_file());
    found.ok_or_else(|| {
        let hint = match tool {
            "redis-cli" | "redis-check-rdb" | "redis-check-aof" | "redis-benchmark" => {
                "scripts/install-test-servers.sh (or: apt-get install redis-tools)".to_string()
            }
            _ => {
                format!("scripts/test.sh installs what the tests need (or: apt-get install {tool})")
            }
        };
        Error::NotInstalled { name: tool.to_string(), hint }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_server_names_the_install_command() {
        let err = installation("redis-0.0-does-not-exist").unwrap_err().to_string();
        assert_eq!(
            err,
            "redis-0.0-does-not-exist is not installed; run: scripts/install-test-servers.sh redis-0.0-does-not-exist"
        );
    }

    #[test]
    fn missing_tool_names_how_to_get_it() {
        let err = try_require_tool("no-such-tool-redtail").unwrap_err().to_string();
        assert!(err.starts_with("no-such-tool-redtail is not installed; run: "), "{err}");
    }
}
