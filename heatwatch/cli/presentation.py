"""What a person sees in the terminal and in the small HTML summary (Chinese first)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from contract.glossary import (
    DEAD_LETTER_REASONS,
    INCIDENT_KINDS,
    SEVERITIES,
    USE_STATES,
    bilingual,
    label,
)
from contract.incidents import Incident
from heatwatch.cli.common import state, t
from producers.scoring import Score

KIND_LABELS = {code: bilingual(INCIDENT_KINDS, code) for code in INCIDENT_KINDS}
SEVERITY_LABELS = {code: bilingual(SEVERITIES, code) for code in SEVERITIES}


def _kind(code: str) -> str:
    return label(INCIDENT_KINDS, code, state.lang)


def incidents_table(data: dict[str, Any]) -> Table:
    table = Table(title=t("事件", "Incidents"), show_lines=False)
    table.add_column(t("类型", "kind"))
    table.add_column(t("数量", "count"), justify="right")
    for kind, count in data["incidents_by_kind"].items():
        table.add_row(_kind(kind), str(count))
    return table


def print_summary(
    console: Console, data: dict[str, Any], out: Path, *, with_table: bool = True
) -> None:
    if with_table:
        console.print(incidents_table(data))
    console.print(
        t(
            f"读取 {data['lines_read']:,} 行 · 读数 {data['readings_received']:,} · "
            f"接受 {data['accepted']:,} · 重复 {data['duplicates']:,} · "
            f"拒收 {data['rejected']:,} · 日汇总 {data['rollup_rows']:,} 行",
            f"lines {data['lines_read']:,} · readings {data['readings_received']:,} · "
            f"accepted {data['accepted']:,} · duplicates {data['duplicates']:,} · "
            f"dead-lettered {data['rejected']:,} · rollup rows {data['rollup_rows']:,}",
        ),
        soft_wrap=True,
    )
    by_reason = data.get("rejected_by_reason") or {}
    if by_reason:  # what the rejections were, largest first (codes: streams/ingest.py)
        console.print(
            t("拒收原因：", "dead letters by reason: ")
            + " · ".join(
                f"{label(DEAD_LETTER_REASONS, code, state.lang)} {n:,}"
                for code, n in by_reason.items()
            ),
            soft_wrap=True,
        )
    partial = t("最后一天不完整，未汇总", "last day partial, not rolled up")
    rate = f"{data['readings_per_s'] or 0:,}"
    console.print(
        t(
            f"用时 {data['elapsed_s']} 秒 · 每秒 {rate} 条读数",
            f"{data['elapsed_s']} s · {rate} readings/s",
        )
        + (f" · {partial}" if data["last_day_partial"] else ""),
        soft_wrap=True,
    )
    console.print(t("结果：", "results: ") + f"[bold]{out}[/bold]", soft_wrap=True)


def score_table(score: Score) -> Table:
    table = Table(title=t("对照注入故障（标准答案）", "Against injected faults (ground truth)"))
    table.add_column(t("类型", "kind"))
    table.add_column(t("注入", "expected"), justify="right")
    table.add_column(t("检出", "found"), justify="right")
    table.add_column(t("多报", "unexpected"), justify="right")
    for kind, (exp, found, extra) in score.by_kind().items():
        style = "green" if exp == found and not extra else "red"
        table.add_row(_kind(kind), str(exp), f"[{style}]{found}[/{style}]", str(extra))
    if score.use is not None and score.use.scored:
        # use (issue 24): the season judgement over the run's rollups against use_truth.jsonl
        for st, (exp, found, extra) in score.use.by_state.items():
            style = "green" if exp == found and not extra else "red"
            name = t("用能：", "use: ") + label(USE_STATES, st, state.lang)
            table.add_row(name, str(exp), f"[{style}]{found}[/{style}]", str(extra))
        for st, (exp, found, extra) in score.use.network.items():
            if not (exp or extra):
                continue
            style = "green" if exp == found and not extra else "red"
            name = t("  其中热网户（热量表）：", "  of which network (heat meter): ") + label(
                USE_STATES, st, state.lang
            )
            table.add_row(name, str(exp), f"[{style}]{found}[/{style}]", str(extra))
    return table


def use_score_note(score: Score) -> str | None:
    """One line on the use judgement: why nothing was scored, or what was judged."""
    u = score.use
    if u is None:
        return None
    if not u.scored:
        return t(
            "用能（是否使用新设施）未评分：运行不足 24 天——“持续偏低”按三周判定，且每户至少需 10 个寒冷判定日",
            "use (is the new heating used) not scored: the run is shorter than 24 days — "
            "'persistently low' is judged over three weeks, and each household needs 10 cold "
            "judged days",
        )
    return t(
        f"用能判定 {u.judged:,} 户（其中有户用热量表的热网户 {u.network_judged:,} 户，按入户供热量判定）；"
        f"遗漏 {len(u.missed)} · 误判 {len(u.false)}"
        "（标准答案 use_truth.jsonl；没有热量表的热网户无户内用能数据，不判定）",
        f"use judged for {u.judged:,} households ({u.network_judged:,} of them network homes "
        f"judged on their heat meter's delivered heat); missed {len(u.missed)} · false "
        f"{len(u.false)} (truth: use_truth.jsonl; network homes without a heat meter have no "
        "per-home heating figure and are not judged)",
    )


def write_html_summary(
    path: Path, data: dict[str, Any], incidents: list[Incident], score: Score | None
) -> Path:
    """A single self-contained page a dispatcher can open without any server."""
    rows = []
    top = sorted(
        (i for i in incidents if i.parent_id is None),
        key=lambda i: (i.severity != "critical", -i.households_affected, i.started_at),
    )[:200]
    for inc in top:
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    KIND_LABELS.get(inc.kind.value, inc.kind.value),
                    SEVERITY_LABELS[inc.severity.value],
                    inc.county,
                    inc.village or "",
                    inc.entity_id,
                    inc.started_at.strftime("%m-%d %H:%M"),
                    inc.ended_at.strftime("%m-%d %H:%M") if inc.ended_at else "进行中 open",
                    inc.households_affected,
                    inc.priority_households,
                )
            )
            + "</tr>"
        )
    kinds = "".join(
        f"<tr><td>{html.escape(KIND_LABELS.get(k, k))}</td><td>{v}</td></tr>"
        for k, v in data["incidents_by_kind"].items()
    )
    score_html = ""
    if score is not None:
        score_rows = "".join(
            f"<tr><td>{html.escape(KIND_LABELS.get(k, k))}</td><td>{e}</td><td>{f}</td><td>{x}</td></tr>"
            for k, (e, f, x) in score.by_kind().items()
        )
        if score.use is not None and score.use.scored:
            score_rows += "".join(
                f"<tr><td>用能：{html.escape(bilingual(USE_STATES, k))}</td><td>{e}</td>"
                f"<td>{f}</td><td>{x}</td></tr>"
                for k, (e, f, x) in score.use.by_state.items()
            )
            score_rows += "".join(
                f"<tr><td>用能（其中热网户，热量表） use (of which network, heat meter)："
                f"{html.escape(bilingual(USE_STATES, k))}</td><td>{e}</td>"
                f"<td>{f}</td><td>{x}</td></tr>"
                for k, (e, f, x) in score.use.network.items()
                if e or x
            )
        verdict = (
            "全部检出，无误报 all faults found, no false alarms"
            if score.perfect
            else "有遗漏或误报 misses or false alarms"
        )
        score_html = (
            f"<h2>对照注入故障 Against injected faults</h2><p>{verdict}</p>"
            f"<table><tr><th>类型 kind</th><th>注入 expected</th><th>检出 found</th><th>多报 unexpected</th></tr>{score_rows}</table>"
            f"<p>畸形记录 malformed lines: {score.malformed_dead_lettered}/{score.malformed_expected} 已拒收 dead-lettered</p>"
        )
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>heatwatch 运行摘要 run summary</title>
<style>body{{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:14px}}
th{{background:#f3f3f3}}.k{{display:inline-block;margin-right:2em}}</style></head><body>
<h1>heatwatch 运行摘要 <small>run summary</small></h1>
<p><span class="k">读数 readings: <b>{data["readings_received"]:,}</b></span>
<span class="k">拒收 dead-lettered: <b>{data["rejected"]:,}</b></span>
<span class="k">重复 duplicates: <b>{data["duplicates"]:,}</b></span>
<span class="k">住户 households: <b>{data["households_registered"]:,}</b></span>
<span class="k">日汇总 rollup rows: <b>{data["rollup_rows"]:,}</b></span></p>
<h2>事件 Incidents</h2><table><tr><th>类型 kind</th><th>数量 count</th></tr>{kinds}</table>
{score_html}
<h2>顶层事件 Top-level incidents (household incidents inside a feeder/station incident are folded into it)</h2>
<table><tr><th>类型 kind</th><th>级别 severity</th><th>县 county</th><th>村 village</th><th>对象 entity</th>
<th>开始 start</th><th>结束 end</th><th>影响户数 households</th><th>重点户 priority</th></tr>{"".join(rows)}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
