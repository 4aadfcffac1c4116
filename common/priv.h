/*
 * priv.h - privilege handling shared by the stages.
 *
 * capd opens the capture as root and then calls priv_drop(); the other
 * stages never need root: started as root with --user they drop at once,
 * and without --user they refuse root unless --allow-root is given.
 */
#ifndef DNSTRAIL_PRIV_H
#define DNSTRAIL_PRIV_H

/* setgroups/setgid/setuid to user, then PR_SET_NO_NEW_PRIVS; dies with a
 * clear message (exit 1) when any step fails, and verifies that root cannot
 * be regained. */
void priv_drop(const char *user);
/* For stages other than capd: drop to user when root and user is set;
 * refuse root when it is not, unless allow_root. */
void priv_settle(const char *user, int allow_root);
void priv_no_new_privs(void);
/* Give up every capability (permitted, effective, inheritable, ambient):
 * for a capd started unprivileged with CAP_NET_RAW (systemd's
 * AmbientCapabilities), once the capture is open. */
void priv_drop_caps(void);

#endif
