#!/usr/bin/env python3
"""add_noise.py IN OUT: copy a classic pcap (Ethernet), adding after every
frame one that the default capture filter refuses (an NTP datagram, UDP
123 -> 123, same time stamp) and, every 7th frame, an ARP request: frames
capd reads and must skip without losing count of where it is in the file."""
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    data = f.read()
magic = struct.unpack_from("<I", data, 0)[0]
if magic not in (0xA1B2C3D4, 0xA1B23C4D):
    sys.exit("add_noise.py: %s is not a little-endian classic pcap" % src)


def udp_ntp():
    payload = b"\x23" + b"\0" * 47
    udp = struct.pack("!HHHH", 123, 123, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 9, 9, 1]), bytes([10, 9, 9, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def arp():
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02" * 6,
                       bytes([10, 9, 9, 1]), b"\0" * 6, bytes([10, 9, 9, 2]))
    return b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + body


out = [data[:24]]
pos, n = 24, 0
while pos + 16 <= len(data):
    sec, frac, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
    out.append(data[pos:pos + 16 + caplen])
    pos += 16 + caplen
    for frame in [udp_ntp()] + ([arp()] if n % 7 == 0 else []):
        out.append(struct.pack("<IIII", sec, frac, len(frame), len(frame)) + frame)
    n += 1
with open(dst, "wb") as f:
    f.write(b"".join(out))
