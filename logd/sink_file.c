/*
 * sink_file.c - the file sink: O_APPEND writes, rotation by size and time
 * (PATH -> PATH.1 -> ... PATH.<max-files>, optionally gzip'ed by a child
 * process), reopen on SIGHUP, and the recovery half of exactly-once.
 *
 * Invariants:
 *   - size_at_done is the file's size when every record before done_pos was
 *     in it: writes end on marks, a short write is truncated back to a mark
 *     (so no partial line is left if the disk is full), and rotation and
 *     reopening wait until nothing is in flight and the queue is on a mark.
 *   - A new file is announced to the state file (persist) before any write
 *     to it is submitted, so a crash never leaves records in a file the
 *     state does not name.
 *   - Rotation, reopening and truncation are metadata syscalls on the local
 *     file system, made between writes; they are rare (once per rotation,
 *     signal or failure) and the only synchronous I/O of the loop.  Data
 *     goes through io_uring and compression through a child process.
 */
#include "sinks.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define RETRY_NS 1000000000ull /* reopen retry after a failed SIGHUP reopen */
#define ROTATE_RETRY_NS 60000000000ull /* after a failed rotation */
#define MAX_ZJOBS 4 /* compressions at once; rotation waits beyond */

struct file_sink {
	struct sink_spec spec;
	int regular; /* a regular file: truncation and recovery apply */
	uint64_t fsize; /* file size as logd wrote it */
	uint64_t size_at_done; /* file size when done_pos was reached */
	uint64_t recovered_pos; /* the recovery entry's position: never persist less */
	uint64_t dev, ino;
	uint64_t opened_at; /* CLOCK_MONOTONIC ns, for rotate-every */
	int reopen_wanted;
	uint64_t reopen_at, rotate_at; /* earliest retry times */
	struct zjob {
		pid_t pid;
		uint64_t rotation; /* rotations count when it started */
		unsigned k0; /* the file was PATH.<k0> then */
		uint64_t started;
		char tmp[STATE_PATH_MAX + 48];
	} zjobs[MAX_ZJOBS]; /* compression children */
	unsigned nzjobs;
	uint64_t zseq; /* names the temporary files */
	unsigned sweep_k; /* next PATH.<k> to check for a missed compression */
	int dirty; /* state entry changed */
	int truncate_warned;
	size_t max_line;
};

static struct file_sink *F(struct sink *s)
{
	return s->impl;
}

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

/* Adopts fd as the file being written: identity, size, rotation clock. */
static void adopt(struct sink *s, int fd, const struct stat *sb, uint64_t now)
{
	struct file_sink *f = F(s);
	if (s->fd >= 0 && s->fd != fd)
		close(s->fd);
	s->fd = fd;
	f->regular = S_ISREG(sb->st_mode);
	f->dev = (uint64_t)sb->st_dev;
	f->ino = (uint64_t)sb->st_ino;
	f->fsize = f->regular ? (uint64_t)sb->st_size : 0;
	f->size_at_done = f->fsize;
	f->opened_at = now;
	f->dirty = 1;
	if (s->persist)
		s->persist(s->persist_ctx);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void remove_stale_tmp(struct sink *s);

static int file_open(struct sink *s, char *err, size_t errlen)
{
	struct file_sink *f = F(s);
	int fd = open_file(f->spec.path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "sink %s: cannot open %s: %s (the launcher creates sink files "
			 "for --user; check the owner and mode of the file and its directory)",
			 s->name, f->spec.path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) && (f->spec.max_size || f->spec.rotate_every_ns)) {
		snprintf(err, errlen, "sink %s: %s is not a regular file and cannot be rotated: "
			 "drop max-size/rotate-every", s->name, f->spec.path);
		close(fd);
		return -1;
	}
	adopt(s, fd, &sb, mono_ns());
	if (f->spec.gzip) {
		remove_stale_tmp(s);
		f->sweep_k = 1;
	}
	return 0;
}

/* A file that does not end with '\n' ends with a line cut by a crash: cut
 * it away, so the next line starts on a line of its own. */
static void repair_tail(struct sink *s)
{
	struct file_sink *f = F(s);
	if (!f->regular || !f->fsize)
		return;
	/* The sink's descriptor is write-only: read through a new one to the
	 * same file (not the path, which may name another file by now). */
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", s->fd);
	int rfd = open(self, O_RDONLY | O_CLOEXEC);
	if (rfd < 0) {
		log_warn("sink %s: cannot read %s to check its last line: %s", s->name, f->spec.path,
			 strerror(errno));
		return;
	}
	char buf[65536];
	uint64_t end = f->fsize, limit = f->max_line + 1;
	uint64_t scanned = 0;
	while (end > 0 && scanned < limit) {
		size_t n = end < sizeof buf ? (size_t)end : sizeof buf;
		ssize_t r = pread(rfd, buf, n, (off_t)(end - n));
		if (r != (ssize_t)n) {
			log_warn("sink %s: cannot read the end of %s to check its last line: %s", s->name,
				 f->spec.path, r < 0 ? strerror(errno) : "short read");
			close(rfd);
			return;
		}
		if (end == f->fsize && buf[n - 1] == '\n') {
			close(rfd);
			return; /* the usual case: ends with a whole line */
		}
		char *nl = memrchr(buf, '\n', n);
		if (nl) {
			close(rfd);
			uint64_t keep = end - n + (uint64_t)(nl - buf) + 1;
			if (ftruncate(s->fd, (off_t)keep) == 0) {
				log_warn("sink %s: removed a partial last line (%" PRIu64 " bytes) from %s, "
					 "left by an earlier crash", s->name, f->fsize - keep, f->spec.path);
				f->fsize = f->size_at_done = keep;
			}
			return;
		}
		end -= n;
		scanned += n;
	}
	close(rfd);
	if (end == 0 && ftruncate(s->fd, 0) == 0) {
		log_warn("sink %s: %s held no complete line (%" PRIu64 " bytes): emptied it", s->name,
			 f->spec.path, f->fsize);
		f->fsize = f->size_at_done = 0;
		return;
	}
	/* Not a line logd could have written: leave it, but start ours on a
	 * fresh line. */
	if (write(s->fd, "\n", 1) == 1)
		f->fsize = f->size_at_done = f->fsize + 1;
	log_warn("sink %s: %s does not end with a newline and its last line is longer than any logd "
		 "writes: left it alone and started a new line", s->name, f->spec.path);
}

void sink_file_recover(struct sink *s, const struct state_entry *e, uint64_t tail,
		       uint64_t head)
{
	struct file_sink *f = F(s);
	if (!f->regular)
		return;
	if (e && e->pos > head) {
		log_warn("sink %s: recovery state is ahead of the ring (position %" PRIu64 " > head %"
			 PRIu64 "): ignoring it", s->name, e->pos, head);
		e = NULL;
	}
	if (e && e->pos < tail) {
		/* The ring went on without this sink (it lagged, stalled or was
		 * abandoned at exit): what the file has beyond the recorded size
		 * cannot be written again, so keep its whole lines. */
		log_warn("sink %s: records before ring position %" PRIu64 " were released while this "
			 "sink was not keeping up: keeping what %s holds", s->name, tail, f->spec.path);
		e = NULL;
	}
	if (!e) {
		repair_tail(s);
		return;
	}
	f->recovered_pos = e->pos;
	s->skip_until = e->pos;
	f->dirty = 1;
	if (e->dev == f->dev && e->ino == f->ino) {
		if (f->fsize > e->size) {
			if (ftruncate(s->fd, (off_t)e->size) < 0) {
				log_warn("sink %s: cannot truncate %s to %" PRIu64 " bytes (%s): lines "
					 "written just before the restart will appear twice", s->name,
					 f->spec.path, e->size, strerror(errno));
				return;
			}
			log_info("sink %s: recovery: removed the last %" PRIu64 " bytes of %s, written "
				 "after the last recorded position; they are written again now", s->name,
				 f->fsize - e->size, f->spec.path);
			f->fsize = f->size_at_done = e->size;
		} else if (f->fsize < e->size) {
			log_warn("sink %s: %s is %" PRIu64 " bytes, shorter than the %" PRIu64 " logd had "
				 "written (truncated by someone else?): lines may be missing", s->name,
				 f->spec.path, f->fsize, e->size);
			repair_tail(s);
		}
		return;
	}
	/* The file was replaced.  If by our own rotation, the old one is
	 * PATH.1: trim it; the new one holds nothing yet. */
	char p1[STATE_PATH_MAX + 8];
	snprintf(p1, sizeof p1, "%s.1", f->spec.path);
	struct stat sb;
	if (stat(p1, &sb) == 0 && (uint64_t)sb.st_dev == e->dev && (uint64_t)sb.st_ino == e->ino) {
		if ((uint64_t)sb.st_size > e->size) {
			if (truncate(p1, (off_t)e->size) == 0)
				log_info("sink %s: recovery: removed the last %" PRIu64 " bytes of %s, "
					 "written after the last recorded position", s->name,
					 (uint64_t)sb.st_size - e->size, p1);
			else
				log_warn("sink %s: cannot truncate %s: %s: lines written just before the "
					 "restart will appear twice", s->name, p1, strerror(errno));
		}
	} else {
		log_warn("sink %s: %s is not the file logd last wrote (moved away while logd was "
			 "down?): continuing in it; lines written just before logd stopped may appear "
			 "in both", s->name, f->spec.path);
	}
	repair_tail(s);
}

int sink_file_state(struct sink *s, struct state_entry *e)
{
	struct file_sink *f = F(s);
	if (!f->regular)
		return -1;
	int changed = f->dirty;
	f->dirty = 0;
	memset(e, 0, sizeof *e);
	snprintf(e->path, sizeof e->path, "%s", f->spec.path);
	e->dev = f->dev;
	e->ino = f->ino;
	/* While skipping what a previous run already wrote, done_pos trails the
	 * file's real content; persisting it would make a second crash write
	 * those records twice. */
	e->pos = s->done_pos > f->recovered_pos ? s->done_pos : f->recovered_pos;
	e->size = f->size_at_done;
	return changed;
}

/* ---- rotation ---- */

/* Compression runs in child processes, one per rotated file, while logd
 * keeps rotating: the child reads the rotated file through a descriptor
 * and writes a temporary file; the parent, when it reaps the child, knows
 * how many rotations happened since and so where the file has moved to
 * (PATH.j), and renames the result to PATH.j.gz. */
static int gz_copy(int in, int out)
{
	gzFile z = gzdopen(out, "wb6");
	if (!z)
		return -1;
	static char buf[1 << 18];
	ssize_t n;
	int ok = 1;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (gzwrite(z, buf, (unsigned)n) != (int)n) {
			ok = 0;
			break;
		}
	if (n < 0)
		ok = 0;
	if (gzclose(z) != Z_OK) /* closes out */
		ok = 0;
	return ok ? 0 : -1;
}

static void spawn_compress(struct sink *s, unsigned k0, uint64_t now)
{
	struct file_sink *f = F(s);
	struct zjob *j = &f->zjobs[f->nzjobs];
	char src[STATE_PATH_MAX + 24];
	snprintf(src, sizeof src, "%s.%u", f->spec.path, k0);
	snprintf(j->tmp, sizeof j->tmp, "%s.gz-tmp.%" PRIu64, f->spec.path, f->zseq++);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	pid_t pid = out < 0 ? -1 : fork();
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		if (setpriority(PRIO_PROCESS, 0, 10) < 0) {
			/* compress at normal priority then */
		}
		_exit(gz_copy(in, out) == 0 ? 0 : 1);
	}
	int err = errno;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (pid < 0) {
		s->st.compress_failures++;
		if (out >= 0)
			unlink(j->tmp);
		log_warn("sink %s: cannot start compressing %s: %s: it stays uncompressed", s->name, src,
			 strerror(err));
		return;
	}
	j->pid = pid;
	j->rotation = s->st.rotations;
	j->k0 = k0;
	j->started = now;
	f->nzjobs++;
}

static void finish_compress(struct sink *s, struct zjob *j, int status)
{
	struct file_sink *f = F(s);
	/* The file compressed was PATH.<k0> at rotation j->rotation. */
	uint64_t k = j->k0 + s->st.rotations - j->rotation;
	char plain[STATE_PATH_MAX + 24], gz[STATE_PATH_MAX + 32];
	snprintf(plain, sizeof plain, "%s.%" PRIu64, f->spec.path, k);
	snprintf(gz, sizeof gz, "%s.gz", plain);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		s->st.compress_failures++;
		unlink(j->tmp);
		log_warn("sink %s: compressing %s failed: it stays uncompressed", s->name, plain);
	} else if (k > f->spec.max_files) {
		unlink(j->tmp); /* rotated out meanwhile */
	} else if (rename(j->tmp, gz) < 0 || unlink(plain) < 0) {
		s->st.compress_failures++;
		log_warn("sink %s: cannot put the compressed %s in place: %s", s->name, gz, strerror(errno));
	}
}

static void reap_compress(struct sink *s, int block)
{
	struct file_sink *f = F(s);
	for (unsigned i = 0; i < f->nzjobs;) {
		int status;
		pid_t r = waitpid(f->zjobs[i].pid, &status, block ? 0 : WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r < 0)
			status = 1 << 8; /* lost: count it as failed */
		finish_compress(s, &f->zjobs[i], status);
		f->zjobs[i] = f->zjobs[--f->nzjobs];
	}
}

/* Renames src to dst; a missing src is fine. */
static int shift(const char *src, const char *dst)
{
	if (dst ? rename(src, dst) : unlink(src))
		return errno == ENOENT ? 0 : -1;
	return 0;
}

static void rotate(struct sink *s, uint64_t now)
{
	struct file_sink *f = F(s);
	const char *p = f->spec.path;
	char a[STATE_PATH_MAX + 24], b[STATE_PATH_MAX + 24];
	/* Shift only up to the first free number: a crash between two renames
	 * of an earlier rotation leaves a gap, and filling it here keeps the
	 * numbers contiguous (PATH.1 newest) instead of carrying the gap on. */
	unsigned top = f->spec.max_files;
	for (unsigned k = 1; k < f->spec.max_files; k++) {
		struct stat sb;
		snprintf(a, sizeof a, "%s.%u", p, k);
		snprintf(b, sizeof b, "%s.%u.gz", p, k);
		if (lstat(a, &sb) < 0 && errno == ENOENT && lstat(b, &sb) < 0 && errno == ENOENT) {
			top = k;
			break;
		}
	}
	for (unsigned k = top; k >= 1; k--) {
		for (int gz = 0; gz < 2; gz++) {
			snprintf(a, sizeof a, "%s.%u%s", p, k, gz ? ".gz" : "");
			snprintf(b, sizeof b, "%s.%u%s", p, k + 1, gz ? ".gz" : "");
			if (shift(a, k == f->spec.max_files ? NULL : b) < 0)
				goto fail;
		}
	}
	snprintf(a, sizeof a, "%s.1", p);
	if (rename(p, a) < 0)
		goto fail;
	int fd = open_file(p);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		/* Keep writing to the renamed file; try to open a new one later. */
		log_warn("sink %s: rotated %s but cannot create a new one: %s: still writing to %s",
			 s->name, p, strerror(errno), a);
		if (fd >= 0)
			close(fd);
		f->reopen_wanted = 1;
		f->reopen_at = now + RETRY_NS;
		s->st.rotate_failures++;
		return;
	}
	adopt(s, fd, &sb, now);
	s->st.rotations++;
	if (f->sweep_k && f->sweep_k <= f->spec.max_files)
		f->sweep_k++; /* the files it has still to check moved up one */
	if (f->spec.gzip)
		spawn_compress(s, 1, now);
	return;
fail:
	s->st.rotate_failures++;
	f->rotate_at = now + ROTATE_RETRY_NS;
	log_warn("sink %s: cannot rotate %s (renaming %s): %s; retrying in %llu s, the file keeps "
		 "growing meanwhile", s->name, p, a, strerror(errno), ROTATE_RETRY_NS / 1000000000ull);
}

static int can_rotate(struct sink *s, uint64_t now)
{
	struct file_sink *f = F(s);
	return f->regular && f->fsize > 0 && f->nzjobs < MAX_ZJOBS && now >= f->rotate_at &&
	       sink_on_mark(s);
}

static int file_before_write(struct sink *s, uint64_t now, size_t first, size_t *limit)
{
	struct file_sink *f = F(s);
	uint64_t max = f->spec.max_size;
	if (max) {
		if (f->fsize + first > max && can_rotate(s, now))
			rotate(s, now);
		uint64_t room = max > f->fsize ? max - f->fsize : 0;
		if (*limit > room)
			*limit = (size_t)room; /* the sink still writes at least one batch */
	}
	return s->fd;
}

static void file_wrote(struct sink *s, size_t len)
{
	F(s)->fsize += len;
}

static size_t file_short_write(struct sink *s, size_t n, size_t len, size_t at_mark)
{
	struct file_sink *f = F(s);
	(void)len;
	if (f->regular && at_mark < n) {
		if (ftruncate(s->fd, (off_t)(f->fsize + at_mark)) == 0) {
			f->fsize += at_mark;
			return at_mark;
		}
		if (!f->truncate_warned)
			log_warn("sink %s: cannot truncate %s after a short write (%s): continuing "
				 "the cut line instead", s->name, f->spec.path, strerror(errno));
		f->truncate_warned = 1;
	}
	f->fsize += n;
	return n;
}

static void file_reopen(struct sink *s)
{
	F(s)->reopen_wanted = 1;
	F(s)->reopen_at = 0;
}

static void do_reopen(struct sink *s, uint64_t now)
{
	struct file_sink *f = F(s);
	int fd = open_file(f->spec.path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		log_warn("sink %s: cannot reopen %s: %s: still writing to the old file, retrying",
			 s->name, f->spec.path, strerror(errno));
		if (fd >= 0)
			close(fd);
		f->reopen_at = now + RETRY_NS;
		return;
	}
	f->reopen_wanted = 0;
	adopt(s, fd, &sb, now);
	s->st.reopens++;
}

/* After a crash, rotated files may have been left uncompressed (their
 * child was lost with logd) and temporary files behind: finish the job. */
static void sweep_compress(struct sink *s, uint64_t now)
{
	struct file_sink *f = F(s);
	while (f->sweep_k && f->sweep_k <= f->spec.max_files && f->nzjobs < MAX_ZJOBS) {
		char plain[STATE_PATH_MAX + 24], gz[STATE_PATH_MAX + 32];
		snprintf(plain, sizeof plain, "%s.%u", f->spec.path, f->sweep_k);
		snprintf(gz, sizeof gz, "%s.gz", plain);
		struct stat sb;
		if (stat(plain, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (stat(gz, &sb) == 0)
				unlink(plain); /* compressed, but not yet removed */
			else
				spawn_compress(s, f->sweep_k, now);
		}
		f->sweep_k++;
	}
}

static void remove_stale_tmp(struct sink *s)
{
	struct file_sink *f = F(s);
	char dirbuf[STATE_PATH_MAX];
	snprintf(dirbuf, sizeof dirbuf, "%s", f->spec.path);
	char *slash = strrchr(dirbuf, '/');
	const char *base = slash ? slash + 1 : dirbuf;
	char prefix[STATE_PATH_MAX + 16];
	snprintf(prefix, sizeof prefix, "%s.gz-tmp.", base);
	if (slash)
		*slash = 0;
	const char *d = slash ? (*dirbuf ? dirbuf : "/") : ".";
	DIR *dir = opendir(d);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && unlinkat(dirfd(dir), e->d_name, 0) == 0)
			log_info("sink %s: removed %s/%s, left by an interrupted compression", s->name, d,
				 e->d_name);
	closedir(dir);
}

static void file_tick(struct sink *s, uint64_t now, int idle)
{
	struct file_sink *f = F(s);
	reap_compress(s, 0);
	sweep_compress(s, now);
	if (!idle)
		return;
	if (f->reopen_wanted && now >= f->reopen_at)
		do_reopen(s, now);
	if (f->spec.rotate_every_ns && now - f->opened_at >= f->spec.rotate_every_ns &&
	    can_rotate(s, now))
		rotate(s, now);
}

static void file_done(struct sink *s)
{
	struct file_sink *f = F(s);
	f->size_at_done = f->fsize;
	f->dirty = 1;
}

static void file_close(struct sink *s)
{
	struct file_sink *f = F(s);
	reap_compress(s, 1); /* let compressions finish and put them in place */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(f);
	s->impl = NULL;
}

static const struct sink_ops file_ops = {
	.kind = "file",
	.open = file_open,
	.before_write = file_before_write,
	.wrote = file_wrote,
	.short_write = file_short_write,
	.reopen = file_reopen,
	.tick = file_tick,
	.done = file_done,
	.close = file_close,
};

int sink_is_file(const struct sink *s)
{
	return s->ops == &file_ops;
}

int sink_file_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos,
		     size_t max_line)
{
	/* Writes (and the merged batches they end on) are the unit of rotation:
	 * keep them a small part of max-size so files come out close to it. */
	size_t max_write = SINK_MAX_WRITE;
	if (sp->max_size && sp->max_size / 16 < max_write)
		max_write = sp->max_size / 16 < (64u << 10) ? 64u << 10 : (size_t)(sp->max_size / 16);
	if (sink_init(s, &file_ops, sp->text, sp->queue_bytes, max_write, sp->stall_ns, sp->wait_ns,
		      start_pos) < 0)
		return -1;
	struct file_sink *f = calloc(1, sizeof *f);
	if (!f) {
		sink_free(s);
		return -1;
	}
	f->spec = *sp;
	f->max_line = max_line;
	s->impl = f;
	return 0;
}
