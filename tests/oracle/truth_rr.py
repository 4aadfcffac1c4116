"""truth_rr.py - tshark's view of an RR (a truth.jsonl entry, see
scripts/truth.py) turned into dnstrail's presentation format.

    truth_rr_to_presentation(rr) -> (name, type, ttl, data)
    truth_edns_summary(opt_rr) -> dnstrail's EDNS summary text (or None)

name and data follow dnstrail's conventions (dig's presentation format
without trailing dots, root as "."), computed from the fields tshark 4.0
emits under each RR (`rr["rdata"]`), type by type.  The conversion is written
independently of the C renderers, from the RFCs and dig's output, so the two
check each other.

data is:
  * a str when tshark shows everything the presentation needs;
  * a Prefix (a str subclass) when tshark leaves out a trailing part
    (NSEC/NSEC3 type bitmaps are not in tshark's JSON): the presentation
    must start with it;
  * None when tshark's fields cannot be turned into presentation format
    (tshark printed an error in place of a field, or no field at all for
    non-empty rdata); the caller reports such RRs as unconvertible.
"""

import base64
import calendar
import re
import socket
import time

__all__ = ["Prefix", "truth_name", "truth_rr_to_presentation", "truth_edns_summary",
           "TYPE_NAMES", "type_mnemonic"]


class Prefix(str):
    """Presentation data known only up to its end: compare with startswith."""


# IANA mnemonics dnstrail (common/dns_names.c) and dig use.
TYPE_NAMES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR",
    24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT",
    31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT",
    38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
    45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
    51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY",
    58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD",
    64: "SVCB", 65: "HTTPS", 66: "DSYNC", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
    103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP", 108: "EUI48",
    109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
    254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 258: "AVC", 259: "DOA",
    260: "AMTRELAY", 261: "RESINFO", 262: "WALLET", 32768: "TA", 32769: "DLV",
}


def type_mnemonic(t):
    return TYPE_NAMES.get(t, "TYPE%d" % t)


RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
               "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI"]
TSIG_RCODES = {16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME",
               21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE"}


def tsig_error(e):
    if e < len(RCODE_NAMES):
        return RCODE_NAMES[e]
    return TSIG_RCODES.get(e, str(e))


# ---- names ------------------------------------------------------------------

_OCTAL = re.compile(r"\\([0-7]{3})")
_C_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_DIG_SPECIAL = '.\\"();@$'


def truth_name(s):
    """A name as tshark prints it -> dnstrail's text.

    tshark writes "<Root>" for the root and "<...>" where it could not decode
    a name (None here); shows control bytes as C escapes (\\ooo in octal, or
    \\r, \\n, \\t...), bytes above 0x7e as UTF-8 text when they form UTF-8
    and as U+FFFD when not (then the name cannot be converted: None), and
    every printable ASCII character as is, including the backslash and the
    ones dig escapes inside a label (. \\ " ; ( ) @ $).  A '.' inside a label
    cannot be told from a label separator and is not converted (a difference
    in such a name is an exception, see exceptions.txt)."""
    if s is None:
        return None
    if s == "<Root>":
        return "."
    if s.startswith("<") and s.endswith(">"):
        return None  # "<Name too long>", "<Name contains a pointer that loops>", ...
    out = []
    i = 0
    while i < len(s):
        m = _OCTAL.match(s, i)
        if m:
            out.append("\\%03d" % int(m.group(1), 8))
            i = m.end()
            continue
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] in _C_ESCAPES:
            out.append("\\%03d" % _C_ESCAPES[s[i + 1]])
            i += 2
            continue
        if c == "\ufffd":
            return None
        if c in _DIG_SPECIAL and c != ".":
            out.append("\\" + c)
        elif c == " " or ord(c) > 0x7E or ord(c) < 0x20:
            out.extend("\\%03d" % b for b in c.encode("utf-8"))
        else:
            out.append(c)
        i += 1
    return "".join(out)


# ---- field helpers ------------------------------------------------------------

def _int(v):
    if isinstance(v, str) and v.lower().startswith("0x"):
        return int(v, 16)
    return int(v)


def _bytes(hexcolon):
    """tshark's "de:ad:be:ef" (or "") -> bytes."""
    if hexcolon in (None, ""):
        return b""
    if not isinstance(hexcolon, str):
        raise ValueError("not a byte field")
    return bytes.fromhex(hexcolon.replace(":", ""))


def _hex(hexcolon):
    return _bytes(hexcolon).hex().upper()


def _b64(hexcolon):
    return base64.b64encode(_bytes(hexcolon)).decode()


def _list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def qstring(b):
    """A character-string as dig prints it: quoted, " and \\ escaped, bytes
    outside 0x20-0x7e as \\DDD."""
    out = ['"']
    for c in b:
        if c < 0x20 or c > 0x7E:
            out.append("\\%03d" % c)
        elif c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        else:
            out.append(chr(c))
    out.append('"')
    return "".join(out)


def _tshark_string(s):
    """A string tshark printed (TXT, HINFO, NAPTR...) -> its bytes.  tshark
    shows non-printable bytes as C-style escapes (\\ooo octal, \\t, \\n, \\\\)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            m = re.match(r"[0-7]{3}", s[i + 1:i + 4])
            if m:
                out.append(int(m.group(0), 8))
                i += 4
                continue
            simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11,
                      "\\": 92, '"': 34, "'": 39}
            if n in simple:
                out.append(simple[n])
                i += 2
                continue
            if n == "x" and re.match(r"[0-9a-fA-F]{2}", s[i + 2:i + 4]):
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
        out.extend(c.encode("utf-8"))
        i += 1
    return bytes(out)


_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}


def _epoch(s):
    """"Jan 26, 2025 00:00:00.000000000 UTC" -> seconds since 1970."""
    m = re.match(r"(\w{3})\s+(\d+), (\d+) (\d+):(\d+):(\d+)", s)
    if not m:
        raise ValueError("unknown time format %r" % s)
    mon, day, year, hh, mm, ss = m.groups()
    return calendar.timegm((int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss)))


def _time14(s):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(_epoch(s)))


def generic(b):
    return "\\# %d" % len(b) + (" " + b.hex().upper() if b else "")


def _svcparam(p):
    key = _int(p["dns.svcb.svcparam.key"])
    names = ["mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint"]
    kname = names[key] if key < len(names) else "key%d" % key
    if key == 0:
        keys = [_int(k) for k in _list(p.get("dns.svcb.svcparam.mandatory.key"))]
        return kname + "=" + ",".join(names[k] if k < len(names) else "key%d" % k for k in keys)
    if key == 1:
        ids = []
        for a in _list(p.get("dns.svcb.svcparam.alpn")):
            ids.append(a.replace("\\", "\\\\\\\\").replace(",", "\\\\,").replace('"', '\\"'))
        return kname + '="' + ",".join(ids) + '"'
    if key == 2:
        return kname
    if key == 3:
        return kname + "=" + str(_int(p["dns.svcb.svcparam.port"]))
    if key == 4:
        return kname + "=" + ",".join(_list(p.get("dns.svcb.svcparam.ipv4hint.ip")))
    if key == 5:
        return kname + "=" + _b64(p.get("dns.svcb.svcparam.echconfig"))
    if key == 6:
        return kname + "=" + ",".join(_list(p.get("dns.svcb.svcparam.ipv6hint.ip")))
    raise ValueError("svcparam key %d not shown by tshark in a convertible form" % key)


def _loc(r):
    def size(v):
        mant, exp = v >> 4, v & 15
        if exp >= 2:
            return "%d%sm" % (mant, "0" * (exp - 2))
        return "0.%02dm" % (mant * 10 ** exp)

    def angle(raw, pos, neg):
        v = raw - 2 ** 31
        hemi = pos if v >= 0 else neg
        v = abs(v)
        return "%d %d %d.%03d %s" % (v // 3600000, v // 60000 % 60, v // 1000 % 60, v % 1000, hemi)

    if "dns.loc.altitude" not in r or _int(r["dns.loc.version"]) != 0:
        return None
    alt = _int(r["dns.loc.altitude"]) - 10000000
    sign = "-" if alt < 0 else ""
    alt = abs(alt)
    return "%s %s %s%d.%02dm %s %s %s" % (
        angle(_int(r["dns.loc.latitude"]), "N", "S"),
        angle(_int(r["dns.loc.longitude"]), "E", "W"),
        sign, alt // 100, alt % 100,
        size(_int(r["dns.loc.size"])), size(_int(r["dns.loc.horizontal_precision"])),
        size(_int(r["dns.loc.vertical_precision"])))


def _has_key(tree, key):
    if isinstance(tree, dict):
        return key in tree or any(_has_key(v, key) for v in tree.values())
    if isinstance(tree, list):
        return any(_has_key(v, key) for v in tree)
    return False


def _data(t, r, rdlength):
    """Presentation of rdata from tshark's fields; raises on what it cannot read."""
    g = r.get
    if rdlength == 0 and not [k for k in r if k != "dns.resp.cache_flush"]:
        return "\\# 0"  # e.g. RFC 2136 deletes (class ANY/NONE)
    if _has_key(r, "_ws.string.trailing_stray_characters"):
        return None  # tshark cut the string at a NUL byte
    if "_ws.expert" in r and "dns.data" in r:  # a type tshark does not dissect
        b = _bytes(r["dns.data"])
        if t == 256 and len(b) >= 4:  # URI, RFC 7553
            return "%d %d %s" % (b[0] << 8 | b[1], b[2] << 8 | b[3], qstring(b[4:]))
        return generic(b)
    if t == 1:
        return g("dns.a")
    if t == 28:
        return g("dns.aaaa")
    if t in (2, 5, 12, 39, 3, 4, 7, 8, 9):
        key = {2: "dns.ns", 5: "dns.cname", 12: "dns.ptr.domain_name", 39: "dns.dname",
               3: "dns.md", 4: "dns.mf", 7: "dns.mb", 8: "dns.mg", 9: "dns.mr"}[t]
        return truth_name(g(key))
    if t == 6:
        return "%s %s %s %s %s %s %s" % (
            truth_name(g("dns.soa.mname")), truth_name(g("dns.soa.rname")),
            g("dns.soa.serial_number"), g("dns.soa.refresh_interval"),
            g("dns.soa.retry_interval"), g("dns.soa.expire_limit"), g("dns.soa.minimum_ttl"))
    if t == 15:
        return "%s %s" % (g("dns.mx.preference"), truth_name(g("dns.mx.mail_exchange")))
    if t in (16, 99):
        key = "dns.txt" if t == 16 else "dns.spf"
        return " ".join(qstring(_tshark_string(s)) for s in _list(g(key)))
    if t == 13:
        return "%s %s" % (qstring(_tshark_string(g("dns.hinfo.cpu"))),
                          qstring(_tshark_string(g("dns.hinfo.os"))))
    if t == 33:
        return "%s %s %s %s" % (g("dns.srv.priority"), g("dns.srv.weight"), g("dns.srv.port"),
                                truth_name(g("dns.srv.target")))
    if t == 35:
        return "%s %s %s %s %s %s" % (
            g("dns.naptr.order"), g("dns.naptr.preference"),
            qstring(_tshark_string(g("dns.naptr.flags"))),
            qstring(_tshark_string(g("dns.naptr.service"))),
            qstring(_tshark_string(g("dns.naptr.regex"))),
            truth_name(g("dns.naptr.replacement")))
    if t in (43, 59):
        if not g("dns.ds.digest"):
            return None  # rendered \# by dnstrail like dig refuses it; see below
        return "%d %s %s %s" % (_int(g("dns.ds.key_id")), g("dns.ds.algorithm"),
                                g("dns.ds.digest_type"), _hex(g("dns.ds.digest")))
    if t == 44:
        return "%s %s %s" % (g("dns.sshfp.algorithm"), g("dns.sshfp.fingerprint.type"),
                             _hex(g("dns.sshfp.fingerprint")))
    if t in (48, 60):
        return "%d %s %s %s" % (_int(g("dns.dnskey.flags")), g("dns.dnskey.protocol"),
                                g("dns.dnskey.algorithm"), _b64(g("dns.dnskey.public_key")))
    if t == 46:
        if "dns.rrsig.signature" not in r:
            return None
        return "%s %s %s %s %s %s %s %s %s" % (
            type_mnemonic(_int(g("dns.rrsig.type_covered"))), g("dns.rrsig.algorithm"),
            g("dns.rrsig.labels"), g("dns.rrsig.original_ttl"),
            _time14(g("dns.rrsig.signature_expiration")),
            _time14(g("dns.rrsig.signature_inception")), g("dns.rrsig.key_tag"),
            truth_name(g("dns.rrsig.signers_name")), _b64(g("dns.rrsig.signature")))
    if t == 47:
        return Prefix(truth_name(g("dns.nsec.next_domain_name")))
    if t in (50, 51):
        salt = _hex(g("dns.nsec3.salt_value")) or "-"
        head = "%s %s %s %s" % (g("dns.nsec3.algo"), _int(g("dns.nsec3.flags")),
                                g("dns.nsec3.iterations"), salt)
        if t == 51:
            return head
        return Prefix(head + " " + g("dns.nsec3.hash_value").upper())
    if t == 257:
        tree = next((v for k, v in r.items() if k.endswith("_tree") and k != "dns.caa.flags_tree"),
                    None)
        if not isinstance(tree, dict):
            return None
        return "%d %s %s" % (_int(g("dns.caa.flags")), tree.get("dns.caa.tag"),
                             qstring(_tshark_string(tree.get("dns.caa.value", ""))))
    if t in (64, 65):
        params = " ".join(_svcparam(p) for p in _list(g("dns.svcb.svcparam")))
        text = "%s %s" % (g("dns.svcb.svcpriority"), truth_name(g("dns.svcb.targetname")))
        return text + (" " + params if params else "")
    if t == 29:
        return _loc(r)
    if t == 11:
        if len(_list(g("dns.wks.bits"))) != rdlength - 5:
            return None  # tshark leaves out the zero bytes of the bitmap
        ports = []
        for i, byte in enumerate(_list(g("dns.wks.bits"))):
            v = _int(byte)
            ports += [i * 8 + bit for bit in range(8) if v & (0x80 >> bit)]
        return " ".join([g("dns.wks.address"), g("dns.wks.protocol")] + [str(p) for p in ports])
    if t == 10:
        return generic(_bytes(g("dns.null")))
    if t == 249:
        other = _int(g("dns.tkey.other_size"))
        if other:
            return None  # tshark does not show the other data
        key = _bytes(g("dns.tkey.key_data"))
        return "%s %d %d %s %s %d %s 0" % (
            truth_name(g("dns.tkey.algo_name")), _epoch(g("dns.tkey.signature_inception")),
            _epoch(g("dns.tkey.signature_expiration")), g("dns.tkey.mode"),
            tsig_error(_int(g("dns.tkey.error"))), len(key), base64.b64encode(key).decode())
    if t == 250:
        mac = g("dns.tsig.mac")
        if not isinstance(mac, str) or _int(g("dns.tsig.other_len")):
            return None  # tshark shows an expert note in place of the MAC
        mac = _bytes(mac)
        return "%s %d %s %d%s %s %s 0" % (
            truth_name(g("dns.tsig.algorithm_name")), _epoch(g("dns.tsig.time_signed")),
            g("dns.tsig.fudge"), len(mac), " " + base64.b64encode(mac).decode() if mac else "",
            g("dns.tsig.original_id"), tsig_error(_int(g("dns.tsig.error"))))
    return None


def truth_rr_to_presentation(rr):
    """(name, type, ttl, data) of a truth RR; see the module comment for data."""
    name = truth_name(rr.get("name"))
    rdata = {k: v for k, v in (rr.get("rdata") or {}).items()}
    try:
        data = _data(rr["type"], rdata, rr.get("rdlength"))
    except (ValueError, KeyError, TypeError, AttributeError):
        data = None
    return name, rr["type"], rr.get("ttl"), data


# ---- EDNS ---------------------------------------------------------------------

def _edns_hex(name, b):
    if not b:
        return name
    if len(b) > 64:
        return "%s=%s..." % (name, b[:64].hex())
    return "%s=%s" % (name, b.hex())


def _label_escape(b):
    out = []
    for c in b:
        if c < 0x21 or c > 0x7E:
            out.append("\\%03d" % c)
        elif chr(c) in _DIG_SPECIAL:
            out.append("\\" + chr(c))
        else:
            out.append(chr(c))
    return "".join(out)


def _edns_option(code, b):
    """One option token of dnstrail's EDNS summary (format: decoded/dns_parse.h)."""
    if code == 3:
        return _edns_hex("nsid", b)
    if code == 8 and len(b) >= 4:
        family, source, scope = b[0] << 8 | b[1], b[2], b[3]
        size = {1: 4, 2: 16}.get(family)
        if size and len(b) - 4 <= size and source <= size * 8 and scope <= size * 8:
            addr = b[4:] + bytes(size - (len(b) - 4))
            text = ".".join(str(x) for x in addr) if family == 1 else \
                socket.inet_ntop(socket.AF_INET6, addr)
            return "ecs=%s/%d/%d" % (text, source, scope)
    if code == 9 and len(b) in (0, 4):
        return "expire" + ("=%d" % int.from_bytes(b, "big") if b else "")
    if code == 10:
        return _edns_hex("cookie", b)
    if code == 11 and len(b) in (0, 2):
        return "keepalive" + ("=%d" % int.from_bytes(b, "big") if b else "")
    if code == 12:
        return "padding=%d" % len(b)
    if code == 15 and len(b) >= 2:
        text = b[2:]
        tok = "ede=%d" % (b[0] << 8 | b[1])
        if text:
            tok += ":" + _label_escape(text[:64]) + ("..." if len(text) > 64 else "")
        return tok
    return _edns_hex("opt%d" % code, b)


def truth_edns_summary(rr):
    """dnstrail's EDNS summary of a truth OPT RR, or None when tshark's fields
    cannot give it (an option tshark shows without its data)."""
    r = rr.get("rdata") or {}
    z = _int(r.get("dns.resp.z", "0"))
    toks = ["udp=%d" % _int(r["dns.rr.udp_payload_size"]),
            "v=%d" % _int(r["dns.resp.edns0_version"])]
    if z & 0x8000:
        toks.append("do")
    if z & 0x7FFF:
        toks.append("z=0x%04x" % (z & 0x7FFF))
    for o in _list(r.get("dns.opt")):
        if not isinstance(o, dict):
            return None
        if "dns.opt.data" not in o:
            toks.append("malformed")  # tshark shows a length past the end, no data
            break
        toks.append(_edns_option(_int(o["dns.opt.code"]), _bytes(o["dns.opt.data"])))
    text = toks[0]
    for t in toks[1:]:
        if len(text) + 1 + len(t) > 512 - 4:
            return text + " ..."
        text += " " + t
    return text
