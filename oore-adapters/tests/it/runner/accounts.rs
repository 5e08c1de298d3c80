//! As whom steps run: the build user with privileges dropped before `exec` (as root),
//! and macOS's login-session launch, driven here with stand-ins for `launchctl` and
//! `sudo`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use oore_adapters::build_user::BuildUser;
use oore_adapters::runner::{DropPrivileges, LoginSession};
use oore_core::ports::StepEnd;

use super::{Fixture, STDERR0, STDOUT0};
use crate::test_build_user;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_privileges_dropped_the_step_is_the_build_user_and_nothing_of_root() {
    let Some(user) = test_build_user() else {
        return;
    };
    let launcher = Arc::new(DropPrivileges::new(user.clone()));
    let f = Fixture::with_config(1 << 20, |dir, config| {
        chmod(dir, 0o711);
        config.launcher = launcher;
    });
    std::os::unix::fs::chown(&f.work, Some(user.uid), Some(user.gid)).unwrap();
    let secret = f.work.parent().unwrap().join("secret");
    std::fs::write(&secret, "root only").unwrap();
    chmod(&secret, 0o600);

    let script = format!(
        "id -un; id -u; id -G; umask; pwd -P; cat {} || echo denied",
        secret.display()
    );
    assert_eq!(f.run(&script).await, Ok(StepEnd::Exited(0)));
    let out = String::from_utf8(f.output(STDOUT0).await).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], user.name);
    assert_eq!(lines[1], user.uid.to_string());
    let mut groups: Vec<u32> = lines[2].split(' ').map(|g| g.parse().unwrap()).collect();
    groups.sort_unstable();
    let mut want = user.groups.clone();
    want.sort_unstable();
    assert_eq!(
        groups, want,
        "exactly the build user's groups, none of root's"
    );
    assert_eq!(lines[3], "0022");
    assert_eq!(
        lines[4],
        f.work.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(lines[5], "denied");
    let err = String::from_utf8(f.output(STDERR0).await).unwrap();
    assert!(err.contains("Permission denied"), "{err}");

    // Its script belongs to it, readable by it alone.
    let script_file = f
        .work
        .parent()
        .unwrap()
        .join(format!("private/{}/step-0.sh", f.build));
    let meta = std::fs::metadata(&script_file).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.mode() & 0o777), (user.uid, 0o400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_session_launch_passes_the_user_and_keeps_the_environment() {
    let me = BuildUser::current().unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("argv.log");
    let launchctl = dir.path().join("launchctl");
    let sudo = dir.path().join("sudo");
    // Stand-ins: record the arguments, then do what the real ones do (minus the user
    // switch): launchctl runs what follows `asuser <uid>`, sudo what follows `--`.
    std::fs::write(
        &launchctl,
        format!(
            "#!/bin/sh\necho \"launchctl $*\" >> {log}\nshift 2\nexec \"$@\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::write(
        &sudo,
        format!(
            "#!/bin/sh\necho \"sudo $*\" >> {log}\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    chmod(&launchctl, 0o755);
    chmod(&sudo, 0o755);
    let launcher = Arc::new(LoginSession::with_programs(me.clone(), &launchctl, &sudo));
    let f = Fixture::with_config(1 << 20, |_, config| config.launcher = launcher);

    assert_eq!(
        f.run("echo \"$OORE_BUILD_ID\"; pwd -P").await,
        Ok(StepEnd::Exited(0))
    );
    let out = String::from_utf8(f.output(STDOUT0).await).unwrap();
    assert_eq!(
        out,
        format!(
            "{}\n{}\n",
            f.build,
            f.work.canonicalize().unwrap().display()
        )
    );
    let argv = std::fs::read_to_string(&log).unwrap();
    let script = f
        .work
        .parent()
        .unwrap()
        .join(format!("private/{}/step-0.sh", f.build));
    let shell = if Path::new("/bin/bash").is_file() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    assert_eq!(
        argv,
        format!(
            "launchctl asuser {uid} {sudo} -E -n -u {name} -- {shell} {script}\nsudo -E -n -u {name} -- {shell} {script}\n",
            uid = me.uid,
            sudo = sudo.display(),
            name = me.name,
            script = script.display(),
        )
    );
}
