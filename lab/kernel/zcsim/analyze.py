#!/usr/bin/env python3
"""Summarise a zcsim-trace.bt output (and compare with /proc/zcsim).

usage: analyze.py BT_OUTPUT [PROC_ZCSIM_SNAPSHOT]
Per command (holder = page->net_priv): gets, puts, distinct pages, gets per page, peak references
seen by the probes, whether and when zcsim_cmnd_done fired, and the anomalies a tracer should
report: leak (no done / refs left), early_free (done while refs held), use_after_free (get/put
after done), underflow (a put with no reference held).
"""
import collections
import re
import sys


def main():
    bt = sys.argv[1]
    cmds = collections.OrderedDict()
    page_gets = collections.Counter()

    gen = collections.Counter()  # holder addresses are reused: a submit after done starts a new lifetime

    def c(ptr, submit=False):
        key = f"{ptr}#{gen[ptr]}" if gen[ptr] else ptr
        if submit and key in cmds and cmds[key]["done"] is not None:
            gen[ptr] += 1
            key = f"{ptr}#{gen[ptr]}"
        ptr = key
        if ptr not in cmds:
            cmds[ptr] = dict(gets=0, puts=0, held=0, peak=0, done=None, held_at_done=None,
                             after_done=0, underflow=0, pages=set(), submit=False)
        return cmds[ptr]

    # bpftrace prints from per-CPU buffers: lines are not in time order across CPUs (a put can be
    # printed before the get that preceded it on another CPU). Sort by the probe's timestamp.
    events = []
    for line in open(bt, errors="replace"):
        f = line.split()
        if len(f) < 3 or f[0] not in ("S", "G", "P", "D") or not f[1].isdigit():
            continue
        events.append(f)
    events.sort(key=lambda f: int(f[1]))
    tot = collections.Counter()
    for f in events:
        kind, t, ptr = f[0], int(f[1]), f[2]
        tot[kind] += 1
        x = c(ptr, submit=(kind == "S"))
        if kind == "S":
            x["submit"] = True
        elif kind == "G":
            x["gets"] += 1
            x["held"] += 1
            x["peak"] = max(x["peak"], x["held"])
            x["pages"].add(f[3])
            page_gets[f[3]] += 1
            if x["done"] is not None:
                x["after_done"] += 1
        elif kind == "P":
            x["puts"] += 1
            if x["held"] <= 0:
                x["underflow"] += 1
            x["held"] -= 1
            if x["done"] is not None:
                x["after_done"] += 1
        elif kind == "D":
            x["done"] = t
            x["held_at_done"] = x["held"]

    print(f"events: submit={tot['S']} get={tot['G']} put={tot['P']} done={tot['D']}")
    findings = []
    for ptr, x in cmds.items():
        np = len(x["pages"]) or 1
        print(f"cmd {ptr}: gets={x['gets']} puts={x['puts']} pages={len(x['pages'])} "
              f"gets/page={x['gets'] / np:.1f} peak_refs={x['peak']} "
              f"done={'yes' if x['done'] is not None else 'NO'} refs_at_done={x['held_at_done']} "
              f"refs_left={x['held']}")
        if x["done"] is None or x["held"] > 0:
            findings.append(f"leak {ptr} (done={'yes' if x['done'] is not None else 'no'}, refs left {x['held']})")
        if x["done"] is not None and x["held_at_done"] and x["held_at_done"] > 0:
            findings.append(f"early_free {ptr} (done with {x['held_at_done']} refs held)")
        if x["after_done"]:
            findings.append(f"use_after_free {ptr} ({x['after_done']} get/put after done)")
        if x["underflow"]:
            findings.append(f"underflow {ptr} ({x['underflow']} put(s) with no reference held)")
    if page_gets:
        v = sorted(page_gets.values())
        print(f"gets per page: min={v[0]} median={v[len(v) // 2]} max={v[-1]} "
              f"mean={sum(v) / len(v):.1f} over {len(v)} pages")
    print("findings: " + ("; ".join(findings) if findings else "none"))

    if len(sys.argv) > 2:
        txt = open(sys.argv[2]).read()
        m = re.search(r"callbacks: gets=(\d+) puts=(\d+)", txt)
        if m:
            g, p = int(m.group(1)), int(m.group(2))
            ok = (g, p) == (tot["G"], tot["P"])
            print(f"zcsim's own counters: gets={g} puts={p} -> {'MATCH' if ok else 'MISMATCH'} with the probes")


if __name__ == "__main__":
    main()
