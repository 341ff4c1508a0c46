#!/usr/bin/env python3
"""Black-box scorer for heatwatch.

    python score.py --tree . [--only NAME] [--venv TREE/.venv] [--keep]

Runs every scenario folder (registry.csv, readings.jsonl, truth.json) through
`heatwatch replay`, `report season` and `report monthly` into /tmp/score-<name>/ and compares
the outputs with truth.json. Prints a table per scenario and per expectation kind, dead letters
per device kind, and one line per failure.
"""
import argparse, collections, csv, datetime as dt, html.parser, io, json, os, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CST = dt.timezone(dt.timedelta(hours=8))
FAR = dt.datetime(2100, 1, 1, tzinfo=CST)


def P(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


# ------------------------------------------------------------------ running the product
class Runner:
    def __init__(self, tree, venv):
        self.tree, self.venv = os.path.abspath(tree), venv
        self.exe = os.path.join(venv, "bin", "heatwatch")
        self.py = os.path.join(venv, "bin", "python")

    def hw(self, args, log):
        env = dict(os.environ, PYTHONPATH=self.tree, HEATWATCH_LANG="en")
        p = subprocess.run([self.exe, "--lang", "en"] + args, capture_output=True, text=True, env=env)
        log.append((args[0:2], p.returncode, p.stderr.strip().splitlines()[-3:] if p.returncode else []))
        return p.returncode

    def rollups(self, path):
        """parquet -> list of dicts, via the venv's pyarrow"""
        if not os.path.exists(path):
            return None
        code = ("import pyarrow.parquet as pq,json,sys\n"
                "t=pq.read_table(sys.argv[1])\n"
                "for r in t.to_pylist(): print(json.dumps(r,default=str,ensure_ascii=False,sort_keys=True))")
        p = subprocess.run([self.py, "-c", code, path], capture_output=True, text=True)
        if p.returncode:
            return None
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def run_all(r, scen_dir, inp, out, months, log):
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    reg = os.path.join(scen_dir, "registry.csv")
    rc = r.hw(["replay", "--registry", reg, "--input", inp, "--out", out], log)
    res = {"rc": rc, "out": out}
    if rc != 0:
        return res
    rep = os.path.join(out, "reports")
    res["season_rc"] = r.hw(["report", "season", "--season", "2021-2022", "--run", out, "--registry", reg,
                             "--out", rep, "--lang", "en", "--issue-date", "2022-03-20"], log)
    res["monthly_rc"] = {}
    for m in months:
        # one report set per directory (the product refuses to add to an issued set): each
        # month into its own directory, its files then gathered beside the season report's
        rep_m = os.path.join(out, f"reports-{m}")
        res["monthly_rc"][m] = r.hw(["report", "monthly", "--month", m, "--run", out, "--registry", reg,
                                     "--out", rep_m, "--lang", "en"], log)
        if os.path.isdir(rep_m):
            os.makedirs(rep, exist_ok=True)
            for f in os.listdir(rep_m):
                if f.startswith("monthly-"):
                    shutil.copy(os.path.join(rep_m, f), os.path.join(rep, f))
    return res


def load(r, out):
    def jl(p):
        if not os.path.exists(p):
            return []
        return [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
    d = {"incidents": jl(os.path.join(out, "incidents.jsonl")),
         "dead": jl(os.path.join(out, "dead_letters.jsonl"))}
    sp = os.path.join(out, "summary.json")
    d["summary"] = json.load(open(sp)) if os.path.exists(sp) else {}
    d["rollups"] = r.rollups(os.path.join(out, "rollups", "household_days.parquet"))
    return d


# ------------------------------------------------------------------ HTML tables
class Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cur, self.row, self.cell = [], None, None, None

    def handle_starttag(self, tag, a):
        if tag == "table":
            self.cur = []
        elif tag == "tr" and self.cur is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join(self.cell.split())); self.cell = None
        elif tag == "tr" and self.row is not None:
            self.cur.append(self.row); self.row = None
        elif tag == "table" and self.cur is not None:
            self.tables.append(self.cur); self.cur = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def html_tables(path):
    if not os.path.exists(path):
        return []
    t = Tables(); t.feed(open(path, encoding="utf-8").read())
    return t.tables


def find_table(tables, header_word):
    for t in tables:
        if t and any(header_word.lower() in h.lower() for h in t[0]):
            return [dict(zip(t[0], row)) for row in t[1:]]
    return None


def num(s):
    try:
        return float(str(s).replace(",", "").replace("%", "").strip())
    except Exception:
        return None


def col(row, *words):
    for k, v in row.items():
        if all(w.lower() in k.lower() for w in words):
            return v
    return None


# ------------------------------------------------------------------ checks
class Score:
    def __init__(self, name):
        self.name = name
        self.rows = collections.OrderedDict()
        self.fail = []
        self.info = []

    def add(self, kind, ok, msg=None, unexpected=0):
        r = self.rows.setdefault(kind, [0, 0, 0, 0])
        r[0] += 1
        r[1 if ok else 2] += 1
        r[3] += unexpected
        if not ok and msg:
            self.fail.append(f"[{self.name}] {kind}: {msg}")

    def unexpected(self, kind, n, msg=None):
        r = self.rows.setdefault(kind, [0, 0, 0, 0])
        r[3] += n
        if n and msg:
            self.info.append(f"[{self.name}] {kind}: {msg}")


def overlaps(inc, w, data_end):
    if w is None:
        return True
    a, b = P(w[0]), P(w[1])
    s = P(inc["started_at"]); e = P(inc.get("ended_at")) or data_end
    return s < b and e > a


def inc_str(i):
    return f"{i['kind']}@{i['entity_type']}:{i['entity_id']} {i['started_at'][5:16]}→{(i.get('ended_at') or 'open')[5:16]} hh={i.get('households_affected')}"


def match_entity(rule, inc):
    et = rule.get("entity_type", "*")
    if et != "*" and inc["entity_type"] != et:
        return False
    if "entity_id" in rule and rule["entity_id"] != "*" and inc["entity_id"] != rule["entity_id"]:
        return False
    ids = rule.get("entity_ids")
    if ids and ids != "*" and inc["entity_id"] not in ids:
        return False
    return True


def check_incidents(sc, truth, d, data_end):
    incs = d["incidents"]
    used = set()
    for e in truth.get("expect", []):
        cands = [i for i in incs if i["kind"] in e["kinds"] and match_entity(e, i)]
        a, b = P(e["start_between"][0]), P(e["start_between"][1])
        good = [i for i in cands if a <= P(i["started_at"]) <= b]
        msg = None
        if e.get("end_between"):
            ea, eb = P(e["end_between"][0]), P(e["end_between"][1])
            ended = [i for i in good if i.get("ended_at") and ea <= P(i["ended_at"]) <= eb]
            if good and not ended:
                msg = f"{e['id']}: started in window but end {[ (i.get('ended_at') or 'open')[5:16] for i in good]} not in {e['end_between'][0][5:16]}..{e['end_between'][1][5:16]}"
            good = ended
        if good and "households_affected" in e:
            g2 = [i for i in good if i.get("households_affected") == e["households_affected"]]
            if not g2:
                msg = f"{e['id']}: households_affected {[i.get('households_affected') for i in good]} != {e['households_affected']}"
            good = g2
        if good and e.get("exactly_one"):
            same = [i for i in incs if i["kind"] in e["kinds"] and match_entity(e, i)]
            if len(same) != 1:
                msg = f"{e['id']}: expected exactly one, found {len(same)}: " + "; ".join(inc_str(i) for i in same)
                good = []
        for i in cands:
            used.add(i["incident_id"])
        if not good and msg is None:
            alt = [i for i in incs if i["kind"] in e.get("alt_kinds", []) and match_entity(e, i)]
            if alt:
                msg = f"{e['id']}: missed; found only {', '.join(inc_str(i) for i in alt[:2])} instead ({e['why'][:80]})"
                for i in alt:
                    used.add(i["incident_id"])
            elif cands:
                msg = f"{e['id']}: {e['kinds'][0]} on {e.get('entity_id')} not in start window {e['start_between'][0][5:16]}..{e['start_between'][1][5:16]}; got " + "; ".join(inc_str(i) for i in cands[:3])
            else:
                msg = f"{e['id']}: no {'/'.join(e['kinds'])} on {e.get('entity_id')} ({e['why'][:90]})"
        sc.add("incident", bool(good), msg)
    for f in truth.get("forbid", []):
        bad = [i for i in incs if (f["kinds"] == ["*"] or i["kind"] in f["kinds"]) and match_entity(f, i)
               and overlaps(i, f["window"], data_end)]
        for i in bad:
            used.add(i["incident_id"])
        sc.add("no_incident", not bad, f"{f['id']}: {len(bad)} forbidden: " + "; ".join(inc_str(i) for i in bad[:4]) + (f" … ({f['why'][:70]})" if f.get('why') else ""), unexpected=len(bad))
    if "max_open_days" in truth:
        lim = dt.timedelta(days=truth["max_open_days"])
        long_ = [i for i in incs if ((P(i.get("ended_at")) or data_end) - P(i["started_at"])) > lim]
        sc.add("no_incident", not long_, f"incidents lasting > {truth['max_open_days']} d: " + "; ".join(inc_str(i) for i in long_[:4]), unexpected=len(long_))
    # unlisted
    def allowed(i):
        for a in truth.get("allow", []):
            if (a["kinds"] == ["*"] or i["kind"] in a["kinds"]) and \
               (not a.get("entity_ids") or i["entity_id"] in a["entity_ids"]) and \
               (not a.get("entity_prefix") or i["entity_id"].startswith(a["entity_prefix"])):
                return True
        return False
    ok_ids = used | {i["incident_id"] for i in incs if allowed(i)}
    # a child (parent_id) of an expected/forbidden/allowed incident is part of its parent
    unl = [i for i in incs if i["incident_id"] not in ok_ids and i.get("parent_id") not in ok_ids]
    sc.unexpected("incident", len(unl), f"{len(unl)} unlisted incidents: " + "; ".join(inc_str(i) for i in unl[:5]))


def dl_kind(raw):
    try:
        o = json.loads(raw)
        return o.get("kind", "?") if isinstance(o, dict) else "?"
    except Exception:
        return "unparseable"


def check_dead(sc, truth, d):
    spec = truth.get("dead_letters", {})
    dead = d["dead"]
    if "max_total" in spec:
        sc.add("dead_letter", len(dead) <= spec["max_total"],
               f"{len(dead)} dead letters > {spec['max_total']} allowed: " + "; ".join(f"#{x.get('line_no')} {x.get('reason','')[:90]}" for x in dead[:4]),
               unexpected=max(0, len(dead) - spec["max_total"]))
    for e in spec.get("expected", []):
        m = []
        for x in dead:
            raw, rsn = x.get("raw", ""), x.get("reason", "")
            if "raw_contains" in e and e["raw_contains"] not in raw:
                continue
            if "raw_or_reason_contains" in e and e["raw_or_reason_contains"] not in raw + rsn:
                continue
            if e.get("raw_not_contains_kind") and dl_kind(raw) != "unparseable":
                continue
            if e.get("raw_parseable") and dl_kind(raw) == "unparseable":
                continue
            if "line_no" in e and x.get("line_no") != e["line_no"]:
                continue
            if "raw_equals" in e and raw.rstrip("\r\n") != e["raw_equals"]:
                continue
            m.append(x)
        ok = bool(m)
        msg = f"{e['id']}: no matching dead letter"
        if "count" in e and len(m) != e["count"]:
            ok, msg = False, f"{e['id']}: {len(m)} matching dead letters, expected {e['count']}"
        if ok and e.get("reason_contains"):
            if not all(all(w.lower() in x["reason"].lower() for w in e["reason_contains"]) for x in m):
                ok, msg = False, f"{e['id']}: reason lacks {e['reason_contains']}: {m[0]['reason'][:100]}"
        if ok and e.get("reason_contains_any"):
            if not all(any(w in x["reason"] for w in e["reason_contains_any"]) for x in m):
                ok, msg = False, f"{e['id']}: reason does not name the meter {e['reason_contains_any']}: {m[0]['reason'][:110]}"
        if ok and e.get("reason_names_item"):
            rn = e["reason_names_item"]
            i = rn["index"]
            forms = [f for j in (i, i + 1) for f in (f"[{j}]", f"readings.{j}", f"item {j}", f"#{j}", f"reading {j}",
                                                         f"readings {j}", f"第{j}")]
            def names(rs):
                return any(d in rs for d in rn.get("ids", [])) or any(f in rs for f in forms)
            if not all(names(x.get("reason") or "") for x in m):
                ok, msg = False, (f"{e['id']}: reason names neither the item's device {rn.get('ids')} nor its place in the "
                                  f"batch (index {i}): {m[0].get('reason','')[:120]!r}")
        if ok and not all((x.get("reason") or "").strip() for x in m):
            ok, msg = False, f"{e['id']}: dead letter without a reason"
        if ok and e.get("reason_contains_any_ci"):
            if not all(any(w.lower() in x["reason"].lower() for w in e["reason_contains_any_ci"]) for x in m):
                ok, msg = False, f"{e['id']}: reason does not name {e['reason_contains_any_ci']}: {m[0]['reason'][:110]}"
        if not m and "line_no" in e:
            near = [x for x in dead if abs((x.get("line_no") or -9) - e["line_no"]) <= 1]
            if near:
                msg += f" at line {e['line_no']} (nearest: line {near[0].get('line_no')} raw {near[0].get('raw','')[:50]!r})"
        sc.add("dead_letter", ok, msg + (f" ({e.get('why','')[:60]})" if not ok and e.get('why') else ""))
    if spec.get("forbid_device_ids"):
        bad = [x for x in dead if any(f'"{h}"' in x.get("raw", "") for h in spec["forbid_device_ids"])]
        sc.add("dead_letter", not bad, f"{len(bad)} readings of correct meters dead-lettered: " + "; ".join(x["reason"][:80] for x in bad[:3]), unexpected=len(bad))
    # informational: kinds
    return collections.Counter(dl_kind(x.get("raw", "")) for x in dead)


def check_summary(sc, truth, d):
    for k, v in truth.get("summary", {}).items():
        got = d["summary"].get(k)
        sc.add("summary", got == v, f"summary.{k} = {got}, expected {v}")


def check_kept(sc, truth, d):
    if not truth.get("kept"):
        return
    idx = {(r["household_id"], str(r["day"])[:10]): r for r in (d["rollups"] or [])}
    for k in truth["kept"]:
        r = idx.get((k["household_id"], k["day"]))
        got = r["readings"] if r else None
        if "readings_exact" in k:
            ok = got == k["readings_exact"]; want = f"= {k['readings_exact']}"
        else:
            ok = got is not None and got >= k["readings_min"]; want = f">= {k['readings_min']}"
        sc.add("kept", ok, f"{k['id']}: rollup readings for {k['household_id']} {k['day']} = {got}, expected {want} ({k.get('why','')[:70]})")


def check_rollup_days(sc, truth, d):
    lim = truth.get("no_rollup_before")
    if not lim:
        return
    bad = sorted({str(r["day"])[:10] for r in (d["rollups"] or []) if str(r["day"])[:10] < lim})
    sc.add("kept", not bad, f"rollup days before {lim} (from readings that should have been rejected): {bad[:5]}", unexpected=len(bad))


def norm_verdict(s):
    s = (s or "").lower()
    if "visit" in s or "核实" in s:
        return "visit_required"
    if "insufficient" in s:
        return "insufficient_data"
    if "not yet" in s or "not_yet" in s:
        return "not_yet"
    if "remov" in s or "eligible" in s:
        return "eligible"
    return s


def season_csv(out):
    p = os.path.join(out, "reports", "stability-2021-2022.csv")
    if not os.path.exists(p):
        return None
    return list(csv.DictReader(io.StringIO(open(p, encoding="utf-8-sig").read())))


def check_verdicts(sc, truth, out):
    v = truth.get("verdicts")
    if not v:
        return
    rows = season_csv(out)
    if rows is None:
        sc.add("verdict", False, "no season CSV"); return
    got = {r["household_id"]: (norm_verdict(r["verdict"]), r.get("reason_codes", "")) for r in rows}
    if "all" in v:
        bad = [h for h, (g, _) in got.items() if g != v["all"]]
        sc.add("verdict", not bad and bool(got), f"{len(bad)}/{len(got)} households not {v['all']} (short run: season not covered): " + ", ".join(f"{h}={got[h][0]}" for h in bad[:4]))
        return
    why = truth.get("verdict_why", {})
    for h, want in v.items():
        g = got.get(h, ("missing", ""))
        w = why.get(h) or why.get(h[:3] + "*", "") or why.get(h[:4] + "*", "")
        need = truth.get("verdict_reasons", {}).get(h, [])
        miss = [c for c in need if c not in g[1].split()]
        sc.add("verdict", g[0] == want and not miss,
               f"{h}: {g[0]} ({g[1]}), expected {want}" + (f" with reason {need}" if need else "") + f" — {w[:80]}")


def check_monthly(sc, truth, out, months, registry_counts):
    rep = os.path.join(out, "reports")
    summ = {}
    for m in months:
        t = find_table(html_tables(os.path.join(rep, f"monthly-{m}.html")), "Household interruptions")
        if t is None:
            sc.add("monthly", False, f"{m}: no monthly summary table"); continue
        summ[m] = t
        for row in t:
            c = row.get("County")
            ha = num(col(row, "Households affected"))
            if c in registry_counts:
                sc.add("monthly", ha is not None and ha <= registry_counts[c],
                       f"{m} {c}: households affected {ha} > county households {registry_counts[c]}")
            elif c and "city" in c.lower():
                tot = sum(registry_counts.values())
                sc.add("monthly", ha is not None and ha <= tot, f"{m} city: households affected {ha} > {tot}")
    mspec = truth.get("monthly", {})
    for ch in mspec.get("checks", []):
        m = ch["month"]
        if "kind_label" in ch:
            p = os.path.join(rep, f"monthly-{m}.csv")
            rows = list(csv.DictReader(io.StringIO(open(p, encoding="utf-8-sig").read()))) if os.path.exists(p) else []
            # the CSV's kind column is "Kind family" since the reports issue (docs/stability-report.md,
            # "a table per county and kind family"); older trees wrote "Kind"
            kcol = lambda r: (r.get("Kind family") or r.get("Kind") or "").lower()
            row = next((r for r in rows if r.get("County") == ch["county"] and ch["kind_label"] in kcol(r)
                        and "interrupt" in kcol(r)), None)
        else:
            row = next((r for r in summ.get(m, []) if r.get("County") == ch["county"]), None)
        colname = {"interruption_hours": ("Interruption household-hours",), "households_affected": ("Households affected",),
                   "priority_affected": ("Priority",)}[ch["col"]]
        val = num(col(row, *colname)) if row else None
        if "approx" in ch:
            ok = val is not None and abs(val - ch["approx"]) <= ch["tol"] * ch["approx"]; want = f"≈ {ch['approx']}"
        elif "equals" in ch:
            ok = val == ch["equals"]; want = f"= {ch['equals']}"
        else:
            ok = val is not None and ch["min"] <= val <= ch["max"]; want = f"in [{ch['min']},{ch['max']}]"
        sc.add("monthly", ok, f"{ch['id']}: {m} {ch['county']} {ch['col']} = {val}, expected {want} ({ch.get('why','')[:80]})")
    # monthly vs season report (only when the months cover the whole run)
    st = find_table(html_tables(os.path.join(rep, "stability-2021-2022.html")), "SAIDI")
    rows = season_csv(out) or []
    if st and summ and len(summ) == len(months):
        for srow in st:
            c = srow.get("County")
            if c not in registry_counts:
                continue
            hh = num(col(srow, "Households"))
            saidi, saifi = num(col(srow, "SAIDI")), num(col(srow, "SAIFI"))
            mh = sum(num(col(r, "Rollup interruption")) or 0 for m in summ for r in summ[m] if r.get("County") == c)
            mi = sum(num(col(r, "Household interruptions")) or 0 for m in summ for r in summ[m] if r.get("County") == c)
            ci = sum(int(r.get("interruptions") or 0) for r in rows if r.get("county") == c)
            if hh and saidi is not None:
                sc.add("season_vs_month", abs(saidi * hh - mh) <= 0.006 * hh + 0.15,
                       f"{c}: season SAIDI×households = {saidi*hh:.2f} h but Σ monthly rollup interruption hours = {mh:.2f}")
            if hh and saifi is not None:
                sc.add("season_vs_month", abs(saifi * hh - mi) <= 0.006 * hh + 0.01,
                       f"{c}: season SAIFI×households = {saifi*hh:.2f} but Σ monthly household interruptions = {mi}")
            sc.add("season_vs_month", ci == mi, f"{c}: season ledger Σ interruptions = {ci} but Σ monthly household interruptions = {mi}")


def check_use(sc, truth, out):
    """use and cost (群众可承受): who is flagged under-used / empty, what the season cost, who is above the burden."""
    u, cost, bur = truth.get("use"), truth.get("cost"), truth.get("burden")
    if not (u or cost or bur):
        return
    rows = {r["household_id"]: r for r in (season_csv(out) or [])}
    tables = html_tables(os.path.join(out, "reports", "stability-2021-2022.html"))
    listed = find_table(tables, "use vs peers")
    listed_ids = {r.get("household") for r in listed} if listed is not None else None
    why = truth.get("verdict_why", {})
    def w(h):
        return why.get(h) or why.get(h[:3] + "*", "") or why.get(h[:4] + "*", "")
    flagged_states = ("unused", "back to coal", "empty", "under")
    for h in (u or {}).get("flagged", []):
        st = (rows.get(h) or {}).get("use_state", "")
        ok = any(x in st.lower() for x in flagged_states) and listed_ids is not None and h in listed_ids
        sc.add("use", ok, f"{h}: use state '{st}', listed in the report's under-used table: "
                          f"{None if listed_ids is None else h in listed_ids}; expected flagged — {w(h)[:110]}")
    for h in (u or {}).get("not_flagged", []):
        st = (rows.get(h) or {}).get("use_state", "")
        ok = bool(rows.get(h)) and not any(x in st.lower() for x in flagged_states) and (listed_ids is None or h not in listed_ids)
        sc.add("use", ok, f"{h}: use state '{st}' ratio {(rows.get(h) or {}).get('use_ratio')} "
                          f"low days {(rows.get(h) or {}).get('low_days')}/{(rows.get(h) or {}).get('judged_days')}, "
                          f"expected NOT flagged — {w(h)[:120]}")
    tol = truth.get("cost_tol", 1.0)
    for h, c in (cost or {}).items():
        r = rows.get(h) or {}
        for k in ("energy_kwh", "valley_kwh", "gas_m3", "energy_cost", "subsidy", "net_cost", "cost_per_m2", "peak_extra"):
            if k not in c:
                continue
            got = num(r.get(k)) if r.get(k) not in (None, "") else None
            want = c[k]
            ok = (got is None) if want is None else (got is not None and abs(got - want) <= tol)
            sc.add("cost", ok, f"{h}: {k} = {r.get(k)!r}, expected {want} ± {tol} ({c.get('why','')[:120]})")
    if bur:
        t = find_table(tables, "household pays")
        ids = [r.get("household") for r in t] if t is not None else []
        for h in bur.get("listed", []):
            sc.add("burden", h in ids, f"{h}: not in the 'above the burden threshold' table ({bur.get('why','')[:80]})")
        for h in bur.get("not_listed", []):
            sc.add("burden", h not in ids, f"{h}: listed above the burden threshold although its net cost is below it")
        if bur.get("priority_first") and t is not None:
            pri = [i for i, r in enumerate(t) if (r.get("priority group") or "").strip()]
            non = [i for i, r in enumerate(t) if not (r.get("priority group") or "").strip()]
            sc.add("burden", not pri or not non or max(pri) < min(non),
                   f"priority households not listed first: {[r.get('household') for r in t]}")


def use_label(state):
    s = (state or "").strip().lower()
    if "empty" in s or "空置" in s:
        return "empty"
    if "unused" in s or "coal" in s or "under" in s or "未使用" in s:
        return "under_used"
    if not s or "not judged" in s or "未判定" in s:
        return "not_judged"
    if "used" in s or "正常" in s:
        return "used"
    return s


def check_use_labels(sc, truth, out):
    """the season ledger's use state per household (issue 24): used / under_used / empty / not_judged;
    checks marked ambiguous are counted apart (use_label_ambig) and reported as such"""
    labels = truth.get("use_labels")
    amb_v = truth.get("verdicts_ambiguous")
    if not (labels or amb_v):
        return
    rows = {r["household_id"]: r for r in (season_csv(out) or [])}
    for h, x in (labels or {}).items():
        r = rows.get(h) or {}
        got = use_label(r.get("use_state")) if r else "missing"
        kind = "use_label_ambig" if x.get("ambiguous") else "use_label"
        sc.add(kind, got == x["want"],
               f"{h}: use state {r.get('use_state')!r} (ratio {r.get('use_ratio')}, low {r.get('low_days')}/{r.get('judged_days')} "
               f"judged days) = {got}, expected {x['want']} — {x['why'][:150]} [{x.get('cite','')[:90]}]"
               + (" AMBIGUOUS" if x.get("ambiguous") else ""))
    for h, want in (amb_v or {}).items():
        r = rows.get(h) or {}
        g = norm_verdict(r.get("verdict"))
        sc.add("verdict_ambig", g == want, f"{h}: {g} ({r.get('reason_codes')}), expected {want} AMBIGUOUS — "
                                           f"{truth.get('verdict_why', {}).get(h, '')[:120]}")


def html_text(path):
    import re, html as H
    if not os.path.exists(path):
        return ""
    t = open(path, encoding="utf-8").read()
    return H.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t)))


def check_html_text(sc, truth, out):
    for c in truth.get("html_text", []):
        txt = html_text(os.path.join(out, "reports", "stability-2021-2022.html")).lower()
        i = txt.find("use of the new heating")
        sect = txt[i:] if i >= 0 else txt
        miss = [alts for alts in c["all_any"] if not any(a.lower() in sect for a in alts)]
        sc.add("report_text", not miss, f"{c['id']}: the season report's use section lacks {miss} ({c.get('why','')[:100]})")


def check_monthly_cost(sc, truth, out):
    """the monthly report's use-and-cost section (issue 24 item 4), HTML table per county"""
    for c in truth.get("monthly_cost", []):
        t = find_table(html_tables(os.path.join(out, "reports", f"monthly-{c['month']}.html")), "median household cost to date")
        row = next((r for r in (t or []) if r.get("county") == c["county"] or r.get("County") == c["county"]), None)
        val = num(col(row, *c["col"].split())) if row else None
        ok = val is not None and abs(val - c["approx"]) <= c["tol"]
        sc.add("monthly_cost_ambig" if c.get("ambiguous") else "monthly_cost", ok,
               f"{c['id']}: {c['month']} {c['county']} '{c['col']}' = {val}, expected {c['approx']} ± {c['tol']} ({c.get('why','')[:110]})"
               + (" AMBIGUOUS" if c.get("ambiguous") else ""))


def check_cli(sc, truth, r, scen_dir, out, log):
    """error cases: a non-zero exit code with a message naming the problem, never a Python traceback"""
    tmp = out + "-cli"
    shutil.rmtree(tmp, ignore_errors=True); os.makedirs(tmp)
    for c in truth.get("cli", []):
        args = [a.format(scen=scen_dir, tmp=tmp, out=out) for a in c["args"]]
        env = dict(os.environ, PYTHONPATH=r.tree, HEATWATCH_LANG="en")
        p = subprocess.run([r.exe, "--lang", "en"] + args, capture_output=True, text=True, env=env)
        txt = p.stdout + p.stderr
        ok_rc = (p.returncode != 0) if c["rc"] == "nonzero" else (p.returncode == 0)
        ok_tb = "Traceback" not in txt
        ok_msg = not c.get("stderr_any") or any(w in txt for w in c["stderr_any"])
        tail = " | ".join(l.strip() for l in txt.strip().splitlines()[-2:])[:160]
        sc.add("cli", ok_rc and ok_tb and ok_msg,
               f"{c['id']}: rc={p.returncode} (want {c['rc']}), traceback={not ok_tb}, names {c.get('stderr_any')}: {ok_msg}; "
               f"output: {tail} ({c.get('why','')[:70]})")


def rollup_key(rows):
    return sorted(json.dumps(r, sort_keys=True) for r in (rows or []))


def check_equivalence(sc, truth, r, scen_dir, base_out, base, months, log, keep):
    eq = truth.get("equivalence")
    if not eq:
        return
    for v in eq["variants"]:
        out = base_out + "-" + v.replace(".jsonl", "")
        res = run_all(r, scen_dir, os.path.join(scen_dir, v), out, months, log)
        if res["rc"] != 0:
            sc.add("equivalence", False, f"{v}: replay failed rc={res['rc']}"); continue
        dv = load(r, out)
        a = open(os.path.join(base_out, "incidents.jsonl"), "rb").read()
        b = open(os.path.join(out, "incidents.jsonl"), "rb").read()
        diff = ""
        if a != b:
            ia = {i["incident_id"]: i for i in base["incidents"]}; ib = {i["incident_id"]: i for i in dv["incidents"]}
            only_a = [inc_str(ia[k]) for k in ia if k not in ib]; only_b = [inc_str(ib[k]) for k in ib if k not in ia]
            chg = [k for k in ia if k in ib and ia[k] != ib[k]]
            diff = f" (only in the readings.jsonl run: {only_a[:2]} only in {v}: {only_b[:2]} changed: {len(chg)}{' e.g. ' + inc_str(ib[chg[0]]) if chg else ''})"
        sc.add("equivalence", a == b, f"{v}: incidents.jsonl differs from the time-sorted run{diff}")
        ra, rb = rollup_key(base["rollups"]), rollup_key(dv["rollups"])
        nd = len(set(ra) ^ set(rb))
        sc.add("equivalence", ra == rb, f"{v}: daily rollups differ ({nd} rows differ)")
        for m in months:
            fa = os.path.join(base_out, "reports", f"monthly-{m}.csv"); fb = os.path.join(out, "reports", f"monthly-{m}.csv")
            same = os.path.exists(fa) and os.path.exists(fb) and open(fa, "rb").read() == open(fb, "rb").read()
            sc.add("equivalence", same, f"{v}: monthly-{m}.csv differs")
        fa = os.path.join(base_out, "reports", "stability-2021-2022.csv"); fb = os.path.join(out, "reports", "stability-2021-2022.csv")
        same = os.path.exists(fa) and os.path.exists(fb) and open(fa, "rb").read() == open(fb, "rb").read()
        sc.add("equivalence", same, f"{v}: season ledger CSV differs")
        dk = {k: dv["summary"].get(k) for k in ("duplicates", "conflicts", "rejected")}
        sc.info.append(f"[{sc.name}] equivalence {v}: summary {dk}")


def months_of(path):
    ms = set()
    lo = hi = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            i = line.find('"ts": "')
            if i < 0:
                continue
            ts = line[i + 7:i + 32]
            if ts.startswith(("2021", "2022")):
                ms.add(ts[:7])
    return sorted(m for m in ms if "2021-11" <= m <= "2022-03" and m[5:7] in ("01", "02", "03", "11", "12"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True)
    ap.add_argument("--venv", default=None, help="default: the tree's .venv")
    ap.add_argument("--only")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    r = Runner(a.tree, a.venv or os.path.join(a.tree, ".venv"))
    names = sorted(n for n in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, n, "truth.json")))
    if a.only:
        names = [n for n in names if a.only in n]
    scores, dlk, runlogs = [], {}, {}
    for n in names:
        sd = os.path.join(HERE, n)
        truth = json.load(open(os.path.join(sd, "truth.json"), encoding="utf-8"))
        sc = Score(n)
        log = []
        months = truth.get("monthly", {}).get("months") or months_of(os.path.join(sd, "readings.jsonl"))
        out = f"/tmp/score-{n}"
        res = run_all(r, sd, os.path.join(sd, "readings.jsonl"), out, months, log)
        runlogs[n] = log
        if res["rc"] != 0:
            sc.add("run", False, f"replay exit code {res['rc']}: {log[-1][2]}")
            scores.append(sc); continue
        d = load(r, out)
        data_end = max([P(x["ended_at"]) for x in d["incidents"] if x.get("ended_at")] + [P(x["started_at"]) for x in d["incidents"]] + [dt.datetime(2000, 1, 1, tzinfo=CST)])
        # data end: last reading time
        last = None
        with open(os.path.join(sd, "readings.jsonl"), encoding="utf-8", errors="replace") as f:
            for line in f:
                i = line.find('"ts": "')
                if i >= 0 and line[i + 7:i + 11] in ("2021", "2022"):
                    t = line[i + 7:i + 32]
                    try:
                        P(t)
                    except ValueError:  # a malformed timestamp of an adversarial line
                        continue
                    last = t if last is None or t > last else last
        data_end = P(last) if last else data_end
        sc.add("run", res.get("season_rc") == 0, f"report season exit code {res.get('season_rc')}: {log}")
        for m, rc in res.get("monthly_rc", {}).items():
            sc.add("run", rc == 0, f"report monthly {m} exit code {rc}")
        check_incidents(sc, truth, d, data_end)
        dlk[n] = check_dead(sc, truth, d)
        check_summary(sc, truth, d)
        check_kept(sc, truth, d)
        check_rollup_days(sc, truth, d)
        check_verdicts(sc, truth, out)
        counts = collections.Counter(row["county"] for row in csv.DictReader(open(os.path.join(sd, "registry.csv"), encoding="utf-8")))
        check_monthly(sc, truth, out, months, counts)
        check_use(sc, truth, out)
        check_use_labels(sc, truth, out)
        check_html_text(sc, truth, out)
        check_monthly_cost(sc, truth, out)
        check_cli(sc, truth, r, sd, out, log)
        check_equivalence(sc, truth, r, sd, out, d, months, log, a.keep)
        sc.info.append(f"[{n}] incidents by kind: {dict(collections.Counter(i['kind'] for i in d['incidents']))}; "
                       f"summary: read={d['summary'].get('readings_received')} accepted={d['summary'].get('accepted')} "
                       f"dup={d['summary'].get('duplicates')} conflicts={d['summary'].get('conflicts')} rejected={d['summary'].get('rejected')}")
        scores.append(sc)

    # ------------------------------------------------------------ print
    print(f"\nheatwatch black-box score — tree {a.tree}  ({dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)\n")
    hdr = f"{'scenario':34} {'check kind':16} {'expected':>8} {'found':>6} {'missed':>6} {'unexpected':>10}"
    print(hdr); print("-" * len(hdr))
    tot = collections.defaultdict(lambda: [0, 0, 0, 0])
    for sc in scores:
        for k, v in sc.rows.items():
            print(f"{sc.name:34} {k:16} {v[0]:8d} {v[1]:6d} {v[2]:6d} {v[3]:10d}")
            for j in range(4):
                tot[k][j] += v[j]
        print()
    print("TOTAL by check kind"); print("-" * len(hdr))
    for k, v in tot.items():
        print(f"{'':34} {k:16} {v[0]:8d} {v[1]:6d} {v[2]:6d} {v[3]:10d}")
    allv = [sum(v[j] for v in tot.values()) for j in range(4)]
    print(f"{'ALL':34} {'':16} {allv[0]:8d} {allv[1]:6d} {allv[2]:6d} {allv[3]:10d}")
    print("\nDead letters per device kind")
    for n, c in dlk.items():
        print(f"  {n:34} {dict(c) if c else '-'}")
    print("\nFailures")
    for sc in scores:
        for f in sc.fail:
            print("  " + f)
    print("\nNotes")
    for sc in scores:
        for f in sc.info:
            print("  " + f)


if __name__ == "__main__":
    main()
