/*
 * capture.c - packet source setup for capd (see capture.h).
 *
 * Why the default filter looks the way it does: libpcap's `vlan` and
 * `pppoes` keywords shift the offsets of everything parsed after them, even
 * outside their parentheses.  So the untagged test comes first and each
 * deeper encapsulation is nested inside the previous one; a plain (untagged)
 * PPPoE session is not reachable that way and needs -f.  Live on Linux,
 * libpcap tests VLAN tags through a kernel extension, and `vlan and pppoes`
 * then compiles to a program the kernel refuses (libpcap would filter in
 * user space, every packet copied up): live filters leave PPPoE out.  `port N` does not
 * match non-first IP fragments (no ports), nor IPv6 packets whose UDP/TCP
 * header follows an extension header, hence the explicit clauses for both.
 * The classic C passivedns filtered on `port 53` alone and lost every VLAN
 * frame and every fragment.
 */
#include "capture.h"

#include "log.h"
#include "netwalk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *capture_default_filter(int dlt, int live, const uint16_t *ports, char *buf, size_t len)
{
	char pl[512] = "";
	size_t off = 0;
	for (int i = 0; ports[i]; i++)
		off += (size_t)snprintf(pl + off, sizeof pl - off, "%sport %u", i ? " or " : "",
					ports[i]);
	char f[1024];
	snprintf(f, sizeof f,
		 "(%s or (ip[6:2] & 0x3fff != 0) or "
		 "(ip6 and (ip6[6] = 0 or ip6[6] = 43 or ip6[6] = 44 or ip6[6] = 60)))",
		 pl);
	if (dlt == DLT_EN10MB && live)
		snprintf(buf, len, "%s or (vlan and (%s or (vlan and %s)))", f, f, f);
	else if (dlt == DLT_EN10MB)
		snprintf(buf, len, "%s or (vlan and (%s or (vlan and (%s or (pppoes and %s)))))",
			 f, f, f, f);
	else
		snprintf(buf, len, "%s", f);
	return buf;
}

/* die() with the handle closed first: a refused capture or filter leaves
 * nothing behind for the leak checker of check-asan (whose abort the
 * launcher would take for a crash and restart). */
static noreturn void die_closing(pcap_t *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static noreturn void die_closing(pcap_t *p, int code, const char *fmt, ...)
{
	char msg[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pcap_close(p);
	die(code, "%s", msg);
}

void capture_check_filter(const char *expr)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct bpf_program prog;
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
		die_closing(p, EXIT_USAGE, "bad filter '%s': %s", expr, pcap_geterr(p));
	pcap_freecode(&prog);
	pcap_close(p);
}

static void apply_filter(pcap_t *p, const struct capture_opts *o, struct capture_filter *cf)
{
	char def[8192];
	const char *expr = o->filter;
	memset(cf, 0, sizeof *cf);
	if (!expr) {
		expr = capture_default_filter(pcap_datalink(p), o->iface != NULL, o->ports, def, sizeof def);
		cf->is_default = 1;
	}
	if (!*expr)
		return;
	if (pcap_compile(p, &cf->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
		die_closing(p, EXIT_USAGE, "bad filter '%s': %s", expr, pcap_geterr(p));
	if (pcap_setfilter(p, &cf->prog) < 0) {
		pcap_freecode(&cf->prog);
		die_closing(p, 1, "cannot set filter: %s", pcap_geterr(p));
	}
}

void capture_filter_free(struct capture_filter *cf)
{
	if (cf->prog.bf_insns)
		pcap_freecode(&cf->prog);
	memset(cf, 0, sizeof *cf);
}

/* Our own stdio stream with a large buffer: libpcap would read a file 4 KiB
 * at a time, a system call every few dozen frames. */
#define FILE_BUFFER (1u << 20)

static pcap_t *open_file(const struct capture_opts *o)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	int is_stdin = !strcmp(o->file, "-");
	const char *name = is_stdin ? "(stdin)" : o->file;
	FILE *f = is_stdin ? stdin : fopen(o->file, "rb");
	if (!f)
		die(1, "cannot read capture %s: %s", name, strerror(errno));
	/* glibc ignores the size unless it is given the buffer; this one lives
	 * as long as the process (pcap_close closes the stream first). */
	static char buffer[FILE_BUFFER];
	setvbuf(f, buffer, _IOFBF, sizeof buffer);
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p)
		die(1, "cannot read capture %s: %s", name, err);
	return p;
}

static pcap_t *open_live(const struct capture_opts *o)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(o->iface, err);
	if (!p)
		die(1, "cannot open interface %s: %s", o->iface, err);
	pcap_set_snaplen(p, o->snaplen);
	pcap_set_promisc(p, o->promisc);
	/* A short timeout bounds the latency of a quiet link; TPACKET_V3 still
	 * hands over whole blocks under load. */
	pcap_set_timeout(p, 50);
	pcap_set_buffer_size(p, (int)(o->buffer_size > 0x7fffffff ? 0x7fffffff : o->buffer_size));
	if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0)
		log_warn("%s: nanosecond timestamps not available, using microseconds", o->iface);
	int rc = pcap_activate(p);
	if (rc < 0) {
		const char *why = pcap_geterr(p);
		if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			die_closing(p, 1, "interface %s does not exist (see 'ip link')", o->iface);
		if (rc == PCAP_ERROR_PERM_DENIED)
			die_closing(p, 1, "no permission to capture on %s: run as root or give CAP_NET_RAW "
			       "(%s)", o->iface, why);
		die_closing(p, 1, "cannot capture on %s: %s", o->iface, why);
	}
	if (rc > 0)
		log_warn("%s: %s", o->iface, pcap_statustostr(rc));
	return p;
}

pcap_t *capture_open(const struct capture_opts *o, struct capture_filter *cf)
{
	pcap_t *p = o->file ? open_file(o) : open_live(o);
	int dlt = pcap_datalink(p);
	if (!netwalk_dlt_supported(dlt))
		die_closing(p, 1, "%s: link type %s (%d) is not supported; dnstrail decodes Ethernet, "
		       "Linux cooked v1/v2, raw IP and BSD loopback",
		    o->file ? o->file : o->iface,
		    pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", dlt);
	apply_filter(p, o, cf);
	return p;
}
