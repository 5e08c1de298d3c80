//! The account build steps run as (`OORE_BUILD_USER`), looked up in the system's user
//! database once at startup: uid, primary gid, supplementary groups and home directory.
//!
//! When `oored` runs as root, the runner drops to this account before it starts a step
//! (`runner::launch`), the git adapter hands the checkout over to it, and the artifact
//! collector takes only files it could read itself ([`BuildUser::may_read`]), so a build
//! can never make `oored` read something on its behalf that the account could not.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A user account, as the user database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildUser {
    /// Login name (`USER`, `LOGNAME`).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Every group it is a member of, the primary one included.
    pub groups: Vec<u32>,
    /// Home directory (`HOME`).
    pub home: PathBuf,
}

/// Why an account could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum BuildUserError {
    /// No account of that name.
    #[error("there is no user named '{0}'")]
    NoSuchUser(String),
    /// The user database could not be read.
    #[error("cannot look up user '{name}': {source}")]
    Lookup {
        /// The name asked for.
        name: String,
        /// The cause.
        source: io::Error,
    },
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

impl BuildUser {
    /// Looks `name` up in the user database (`getpwnam_r`, then `getgrouplist`).
    pub fn lookup(name: &str) -> Result<Self, BuildUserError> {
        let lookup_error = |source| BuildUserError::Lookup {
            name: name.to_owned(),
            source,
        };
        let c_name = CString::new(name).map_err(|_| BuildUserError::NoSuchUser(name.to_owned()))?;
        let entry = passwd(|pwd, buf, result| {
            // SAFETY: every pointer is valid for the call: the name is NUL-terminated,
            // `pwd` and `result` are writable, `buf` is writable for its length.
            unsafe { libc::getpwnam_r(c_name.as_ptr(), pwd, buf.as_mut_ptr(), buf.len(), result) }
        })
        .map_err(lookup_error)?
        .ok_or_else(|| BuildUserError::NoSuchUser(name.to_owned()))?;
        let groups = group_list(&c_name, entry.gid).map_err(lookup_error)?;
        Ok(Self { groups, ..entry })
    }

    /// The account of this process's effective uid, if it has one.
    pub fn current() -> Result<Option<Self>, io::Error> {
        let uid = effective_uid();
        let entry = passwd(|pwd, buf, result| {
            // SAFETY: as in `lookup`; `getpwuid_r` takes the uid by value.
            unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr(), buf.len(), result) }
        })?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        let c_name = CString::new(entry.name.clone()).map_err(io::Error::other)?;
        let groups = group_list(&c_name, entry.gid)?;
        Ok(Some(Self { groups, ..entry }))
    }

    /// True for uid 0.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether this account may read a file owned by `uid`:`gid` with permission bits
    /// `mode`, by the classic owner/group/other rule (root reads everything; ACLs are
    /// not consulted, so an ACL granting more is ignored: the safe side).
    pub fn may_read(&self, uid: u32, gid: u32, mode: u32) -> bool {
        if self.is_root() {
            return true;
        }
        if uid == self.uid {
            mode & 0o400 != 0
        } else if self.groups.contains(&gid) || gid == self.gid {
            mode & 0o040 != 0
        } else {
            mode & 0o004 != 0
        }
    }

    /// Whether this account may search (enter) a directory owned by `uid`:`gid` with
    /// permission bits `mode`.
    pub fn may_search(&self, uid: u32, gid: u32, mode: u32) -> bool {
        if self.is_root() {
            return mode & 0o111 != 0;
        }
        if uid == self.uid {
            mode & 0o100 != 0
        } else if self.groups.contains(&gid) || gid == self.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

/// Calls a `getpw*_r` function with a growing buffer; `Ok(None)` when there is no entry.
fn passwd(
    mut call: impl FnMut(&mut libc::passwd, &mut Vec<libc::c_char>, &mut *mut libc::passwd) -> i32,
) -> io::Result<Option<BuildUser>> {
    let mut size = 1024usize;
    loop {
        let mut buf: Vec<libc::c_char> = vec![0; size];
        // SAFETY: an all-zero passwd (null pointers, zero ids) is a valid value of this
        // plain C struct; the call overwrites it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let ret = call(&mut pwd, &mut buf, &mut result);
        if ret == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if ret != 0 {
            return Err(io::Error::from_raw_os_error(ret));
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success the strings point into `buf`, NUL-terminated, and `buf` is
        // alive until the end of this block.
        let (name, home) = unsafe { (CStr::from_ptr(pwd.pw_name), CStr::from_ptr(pwd.pw_dir)) };
        return Ok(Some(BuildUser {
            name: String::from_utf8_lossy(name.to_bytes()).into_owned(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            groups: Vec::new(),
            home: PathBuf::from(OsStr::from_bytes(home.to_bytes())),
        }));
    }
}

/// A group id as `getgrouplist` takes it: `int` on Apple's systems, `gid_t` elsewhere.
#[cfg(target_vendor = "apple")]
type Gid = libc::c_int;
#[cfg(not(target_vendor = "apple"))]
type Gid = libc::gid_t;

#[cfg(target_vendor = "apple")]
fn to_gid(g: u32) -> Gid {
    g as Gid
}

#[cfg(not(target_vendor = "apple"))]
fn to_gid(g: u32) -> Gid {
    g
}

#[cfg(target_vendor = "apple")]
fn from_gid(g: Gid) -> u32 {
    g as u32
}

#[cfg(not(target_vendor = "apple"))]
fn from_gid(g: Gid) -> u32 {
    g
}

/// Every group `name` belongs to, `gid` first (`getgrouplist`).
fn group_list(name: &CStr, gid: u32) -> io::Result<Vec<u32>> {
    let mut count: libc::c_int = 32;
    loop {
        let mut groups: Vec<Gid> = vec![0; usize::try_from(count).unwrap_or(32)];
        let mut n = count;
        // SAFETY: `groups` is writable for `n` entries and `n` says so; the name is
        // NUL-terminated.
        let ret =
            unsafe { libc::getgrouplist(name.as_ptr(), to_gid(gid), groups.as_mut_ptr(), &mut n) };
        if ret == -1 {
            if n <= count || count >= 65_536 {
                // Some systems do not report the size needed: grow by ourselves.
                count = count.saturating_mul(4);
            } else {
                count = n;
            }
            if count > 65_536 {
                return Err(io::Error::other("the user belongs to too many groups"));
            }
            continue;
        }
        groups.truncate(usize::try_from(n).unwrap_or(0));
        let mut out: Vec<u32> = vec![gid];
        for g in groups {
            let g = from_gid(g);
            if !out.contains(&g) {
                out.push(g);
            }
        }
        return Ok(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_with_its_groups() {
        let root = BuildUser::lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.is_root());
        assert_eq!(root.groups.first(), Some(&0));
        assert!(root.home.is_absolute(), "{}", root.home.display());
    }

    #[test]
    fn unknown_names_are_not_found() {
        for name in ["oore-no-such-user-x", "bad\0name"] {
            assert!(matches!(
                BuildUser::lookup(name),
                Err(BuildUserError::NoSuchUser(_))
            ));
        }
    }

    #[test]
    fn the_current_account_is_ours() {
        let me = BuildUser::current()
            .unwrap()
            .expect("this uid has an account");
        assert_eq!(me.uid, effective_uid());
    }

    #[test]
    fn read_and_search_follow_owner_group_other() {
        let user = BuildUser {
            name: "b".into(),
            uid: 1000,
            gid: 100,
            groups: vec![100, 27],
            home: "/home/b".into(),
        };
        assert!(user.may_read(1000, 0, 0o400));
        assert!(
            !user.may_read(1000, 27, 0o044),
            "owner bits decide for the owner"
        );
        assert!(user.may_read(0, 27, 0o040));
        assert!(!user.may_read(0, 5, 0o040));
        assert!(user.may_read(0, 5, 0o004));
        assert!(!user.may_read(0, 0, 0o600), "a root-only file");
        assert!(user.may_search(0, 0, 0o711));
        assert!(!user.may_search(0, 0, 0o700));
        assert!(user.may_search(0, 100, 0o710));
    }
}
