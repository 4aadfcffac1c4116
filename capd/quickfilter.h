/*
 * quickfilter.h - the default capture filter's answer for the common DNS
 * frame, without BPF.
 *
 * Reading a file, libpcap runs the filter in its BPF interpreter: about
 * 240 instructions per frame for the default filter (capture.c).  Most DNS
 * frames are untagged Ethernet, IPv4 or IPv6, UDP or TCP, with a DNS port,
 * and the first clause of the default filter (`port N`) accepts them after
 * a handful of loads.  quick_accept recognises exactly those frames, with
 * every byte those loads read inside the capture, and says nothing about
 * any other frame: that one goes to BPF as before.  So it can only save
 * time, never change what passes.  unit/test_quickfilter holds it to that
 * against libpcap on every frame of the test captures, and fuzz_quickfilter
 * on arbitrary frames.
 */
#ifndef DNSTRAIL_CAPD_QUICKFILTER_H
#define DNSTRAIL_CAPD_QUICKFILTER_H

#include <stdint.h>

/* 1 when the default filter for link type dlt and the 0-terminated port
 * list certainly accepts the frame; 0 when only BPF can tell. */
int quick_accept(int dlt, const uint8_t *frame, uint32_t caplen, const uint16_t *ports);

#endif
