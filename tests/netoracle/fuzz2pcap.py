#!/usr/bin/env python3
"""fuzz2pcap.py - turn a fuzz_frames input into pcap files, one per link
type it uses (OUT.<linktype>.pcap), with the harness's timestamps, so a
crash or an odd result can be looked at with tshark or msgs_dump.

    fuzz2pcap.py INPUT OUT_PREFIX
"""
import struct, sys

LINKTYPES = [1, 113, 276, 101, 228, 229, 0, 108]  # the harness's selector order


def main():
    data = open(sys.argv[1], "rb").read()
    out = {}
    ts = 1000000000 * 10**9
    pos = 1
    while len(data) - pos >= 4:
        sel, step = data[pos], data[pos + 1]
        n = struct.unpack("<H", data[pos + 2:pos + 4])[0]
        pos += 4
        frame = data[pos:pos + n]
        pos += len(frame)
        ts += 100 * 10**9 if step == 255 else step * 10**7
        lt = LINKTYPES[sel & 7]
        if lt not in out:
            f = open("%s.%d.pcap" % (sys.argv[2], lt), "wb")
            f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, lt))
            out[lt] = f
        wire = len(frame) + (100 if sel & 0x80 else 0)
        out[lt].write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(frame), wire) + frame)
    for f in out.values():
        f.close()


if __name__ == "__main__":
    main()
