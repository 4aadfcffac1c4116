#!/usr/bin/env python3
"""make_fuzz_seeds.py - seed inputs for tests/fuzz/fuzz_frames.c.

    make_fuzz_seeds.py CORPUS_DIR OUT_SEEDS_DIR OUT_REGRESSION_DIR

Seeds: the frames of each corpus capture whose link type the harness knows,
in the harness's input format (see fuzz_frames.c), at most FRAMES_PER_SEED
frames per seed and SEEDS_PER_CAPTURE seeds per capture, so the set stays
small.  pcapng and gzip captures are converted with editcap/gzip first.
Regression directory: a few hand-made inputs (IPv4 fragments overlapping
and out of order, a TCP stream with a hole and a sequence wrap, IPv6
extension headers), so it is never empty.
"""
import gzip, os, shutil, struct, subprocess, sys, tempfile

FRAMES_PER_SEED = 24
SEEDS_PER_CAPTURE = 3
# LINKTYPE_ value -> the harness's link selector
LINK = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5, 0: 6, 108: 7}


def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xffff
    frames, pos = [], 24
    while pos + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
        frames.append(data[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return linktype, frames


def as_pcap(path, tmp):
    if path.endswith(".gz"):
        out = os.path.join(tmp, "x.pcap")
        with gzip.open(path) as s, open(out, "wb") as d:
            shutil.copyfileobj(s, d)
        path = out
    if open(path, "rb").read(4) == b"\x0a\x0d\x0d\x0a":
        out = os.path.join(tmp, "y.pcap")
        if subprocess.run(["editcap", "-F", "pcap", path, out], capture_output=True).returncode:
            return None
        path = out
    return path


def encode(sel, frames, config=0):
    out = bytearray([config])
    for f in frames:
        f = f[:65535]
        out += bytes([sel, 1]) + struct.pack("<H", len(f)) + f
    return bytes(out)


def seeds(corpus, outdir):
    os.makedirs(outdir, exist_ok=True)
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(corpus)):
            if name.endswith((".jsonl", ".md")) or name == "SHA256SUMS" or ".from-pcapng" in name:
                continue
            p = as_pcap(os.path.join(corpus, name), tmp)
            if not p:
                continue
            lt, frames = read_pcap(p)
            if lt not in LINK or not frames:
                continue
            step = max(1, len(frames) // (FRAMES_PER_SEED * SEEDS_PER_CAPTURE))
            for k in range(SEEDS_PER_CAPTURE):
                chunk = frames[k * FRAMES_PER_SEED * step:(k + 1) * FRAMES_PER_SEED * step:step]
                if not chunk:
                    break
                # alternate tiny and default limits
                open(os.path.join(outdir, "%s.%d" % (name, k)), "wb").write(
                    encode(LINK[lt], chunk, config=k & 1))
                n += 1
    return n


def csum_ip4(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xffff)
    return (~(s + (s >> 16))) & 0xffff


def ip4(src, dst, proto, payload, ident=1, frag=0, total=None):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(payload), ident, frag, 64,
                    proto, 0, bytes(src), bytes(dst))
    return h + payload


def dns(ident, qr, name, answers=0):
    m = struct.pack("!HHHHHH", ident, 0x8180 if qr else 0x0100, 1, answers, 0, 0)
    for label in name.split("."):
        m += bytes([len(label)]) + label.encode()
    m += b"\0" + struct.pack("!HH", 1, 1)
    for a in range(answers):
        m += struct.pack("!HHHIH4s", 0xc00c, 1, 1, 60, 4, bytes([192, 0, 2, a & 255]))
    return m


def udp(sp, dp, payload):
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def tcp(sp, dp, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sp, dp, seq & 0xffffffff, ack & 0xffffffff, 0x50, flags,
                       65535, 0, 0) + payload


C, S = [10, 0, 0, 1], [192, 0, 2, 53]
RAW = 3


def handmade(outdir):
    os.makedirs(outdir, exist_ok=True)
    # IPv4 fragments, out of order, one overlapping with other bytes, one duplicated
    d = udp(5000, 53, dns(0x1111, 1, "frag.example", 30))
    parts = [(0, d[:96], 1), (96, d[96:200], 1), (200, d[200:], 0)]
    bad = bytearray(d[88:160])
    bad[10:20] = b"\xaa" * 10
    frames = [ip4(S, C, 17, parts[2][1], 7, parts[2][0] // 8),
              ip4(S, C, 17, bytes(bad), 7, 0x2000 | 88 // 8),
              ip4(S, C, 17, parts[0][1], 7, 0x2000),
              ip4(S, C, 17, parts[0][1], 7, 0x2000),
              ip4(S, C, 17, parts[1][1], 7, 0x2000 | 96 // 8)]
    open(os.path.join(outdir, "frag4-overlap-reorder"), "wb").write(encode(RAW, frames, 0))
    # TCP: handshake near 2^32, pipelined queries, a hole acknowledged, a resync
    isn_c, isn_s = 0xfffffff0, 0xffffff80
    q = b"".join(struct.pack("!H", len(m)) + m for m in
                 (dns(0x2000 + i, 0, "q%d.example" % i) for i in range(4)))
    r = b"".join(struct.pack("!H", len(m)) + m for m in
                 (dns(0x2000 + i, 1, "q%d.example" % i, 3) for i in range(4)))
    fr = [ip4(C, S, 6, tcp(40000, 53, isn_c, 0, 0x02)),
          ip4(S, C, 6, tcp(53, 40000, isn_s, isn_c + 1, 0x12)),
          ip4(C, S, 6, tcp(40000, 53, isn_c + 1, isn_s + 1, 0x18, q[:50])),
          ip4(C, S, 6, tcp(40000, 53, isn_c + 51, isn_s + 1, 0x18, q[50:]))]
    for off in range(0, len(r), 37):
        if off == 74:
            continue  # a segment never captured
        fr.append(ip4(S, C, 6, tcp(53, 40000, isn_s + 1 + off, isn_c + 1 + len(q), 0x18,
                                   r[off:off + 37])))
    fr.append(ip4(C, S, 6, tcp(40000, 53, isn_c + 1 + len(q), isn_s + 1 + len(r), 0x10)))
    fr.append(ip4(C, S, 6, tcp(40000, 53, isn_c + 1 + len(q), isn_s + 1 + len(r), 0x04)))
    open(os.path.join(outdir, "tcp-wrap-hole-rst"), "wb").write(encode(RAW, fr, 0))
    # IPv6 with hop-by-hop + destination options, and a fragment header
    src6 = bytes([0x20, 1, 0xd, 0xb8] + [0] * 11 + [1])
    dst6 = bytes([0x20, 1, 0xd, 0xb8] + [0] * 10 + [0x53, 0x53])
    u = udp(53, 6000, dns(0x3333, 1, "v6.example", 2))
    ext = bytes([60, 0]) + b"\0" * 6 + bytes([44, 0]) + b"\0" * 6
    fh1 = bytes([17, 0]) + struct.pack("!HI", 0x0001, 99)
    fh2 = bytes([17, 0]) + struct.pack("!HI", 48, 99)

    def ip6(nxt, body):
        return struct.pack("!IHBB", 0x60000000, len(body), nxt, 64) + src6 + dst6 + body
    hbh_dst = bytes([60, 0]) + b"\0" * 6 + bytes([17, 0]) + b"\0" * 6
    f6 = [ip6(0, ext + fh2 + u[48:]), ip6(0, ext + fh1 + u[:48]), ip6(0, hbh_dst + u)]
    open(os.path.join(outdir, "ip6-ext-frag"), "wb").write(encode(5, f6, 1))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    n = seeds(sys.argv[1], sys.argv[2])
    handmade(sys.argv[3])
    print("%d seeds" % n)
