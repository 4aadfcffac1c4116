#!/usr/bin/env python3
"""dig_render.py - ask the real dig how it prints given RRs (a development aid).

Usage: dig_render.py [--class N] [--owner HEXNAME] TYPE HEXRDATA [TYPE HEXRDATA ...]
       (owner in wire format; default example.com, class IN)

Serves one crafted response on a loopback UDP port, runs
`dig +nosplit +nocomments` against it and prints dig's rdata column for each
RR, one per line.  This is how the expected strings in
tests/unit/test_dns_parse.c were obtained (BIND 9.18 dig), so they follow
dig's presentation format exactly.  Only 127.0.0.1 is used.
"""
import re, socket, struct, subprocess, sys, threading


def serve_once(sock, answers, owner, rclass):
    data, peer = sock.recvfrom(4096)
    qid = data[:2]
    # echo the question
    q = data[12:]
    i = 0
    while q[i]:
        i += q[i] + 1
    question = q[:i + 5]
    rrs = b""
    for t, rd in answers:
        rrs += owner + struct.pack("!HHIH", t, rclass, 3600, len(rd)) + rd
    hdr = qid + struct.pack("!HHHHH", 0x8180, 1, len(answers), 0, 0)
    sock.sendto(hdr + question + rrs, peer)


def main(argv):
    rclass = 1
    if argv and argv[0] == "--class":
        rclass = int(argv[1])
        argv = argv[2:]
    owner = b"\x07example\x03com\x00"
    if argv and argv[0] == "--owner":
        owner = bytes.fromhex(argv[1])
        argv = argv[2:]
    answers = []
    for i in range(0, len(argv), 2):
        answers.append((int(argv[i]), bytes.fromhex(argv[i + 1].replace(" ", ""))))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    t = threading.Thread(target=serve_once, args=(sock, answers, owner, rclass), daemon=True)
    t.start()
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+nosplit", "+nocomments",
                          "+nocmd", "+nostats", "+noquestion", "+tries=1", "+timeout=2",
                          "+noedns", "example.com", "TYPE1"], input="",
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if not line:
            continue
        if line.startswith(";"):
            # dig's complaints matter (the rdata was refused); other comments do not
            if "Got bad" in line or "malformed" in line:
                print("?? " + line)
            continue
        m = re.match(r"(\S+)\s+\d+\s+\S+\s+\S+\s?(.*)$", line)
        print(m.group(2) if m else "?? " + line)
    if out.returncode or out.stderr:
        print(out.stdout, out.stderr, file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
