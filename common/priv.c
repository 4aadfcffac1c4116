/*
 * priv.c - dropping root (see priv.h).  Order matters: supplementary groups
 * and gid first, uid last, since after setuid we may no longer change them.
 */
#include "priv.h"

#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void priv_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(1, "cannot set no_new_privs: %s", strerror(errno));
}

void priv_drop_caps(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) < 0)
		die(1, "cannot drop capabilities: %s", strerror(errno));
}

void priv_drop(const char *user)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		die(1, "cannot drop privileges: user '%s' %s (create it, e.g. 'useradd --system "
		       "--no-create-home --shell /usr/sbin/nologin %s', or choose another --user)",
		    user, errno ? strerror(errno) : "does not exist", user);
	if (pw->pw_uid == 0)
		die(EXIT_USAGE, "--user %s is root: choose an unprivileged user", user);
	gid_t gid = pw->pw_gid;
	uid_t uid = pw->pw_uid;
	if (setgroups(1, &gid) < 0)
		die(1, "cannot drop privileges: setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		die(1, "cannot drop privileges: setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		die(1, "cannot drop privileges: setresuid(%u): %s", (unsigned)uid, strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0)
		die(1, "privilege drop did not hold: root could be regained");
	priv_no_new_privs();
}

void priv_settle(const char *user, int allow_root)
{
	if (geteuid() != 0)
		return;
	if (user && *user) {
		priv_drop(user);
		return;
	}
	if (!allow_root)
		die(EXIT_USAGE, "refusing to run as root: give --user USER to run as that user, "
				"or --allow-root if you really mean it");
}
