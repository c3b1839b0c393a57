"""The report's HTML: one self-contained page (styles, font and charts inline), A4 when printed.

A Python string rather than a template file, so it ships with the package whatever the
package-data settings say. Jinja2 autoescapes every value: product names and the buyer's
own words are data, never markup.
"""

from __future__ import annotations

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="returnwatch">
<title>{{ data.shop_id }} · {{ data.period.month }} 退货月报</title>
<style>
{{ font_css }}
:root {
  --ink: #1f2933; --muted: #7b8794; --line: #e4e7eb; --good: #2e8b57; --bad: #c0392b;
  --accent: #2f6fb3; --soft: #f5f7fa;
}
html { font-family: {{ font_stack }}; color: var(--ink); background: #fff; font-size: 14px; }
body { margin: 0 auto; max-width: 1100px; padding: 24px 28px 48px; line-height: 1.5; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p.meta, p.note, td.note, .muted { color: var(--muted); }
p.meta { margin: 0 0 8px; }
p.note { font-size: 12px; margin: 6px 0 0; }
section { break-inside: avoid; page-break-inside: avoid; }
figure { margin: 8px 0; }
figure img { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td .sub { display: block; color: var(--muted); font-size: 11.5px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; color: #fff; white-space: nowrap; }
.badge.good { background: var(--good); } .badge.bad { background: var(--bad); }
.badge.none, .badge.na { background: #9aa5b1; }
.sev-critical { color: var(--bad); font-weight: 600; } .sev-warning { color: #e67e22; font-weight: 600; }
.sev-info { color: var(--accent); }
.empty { color: var(--muted); padding: 10px 0; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0 4px; }
.summary div { background: var(--soft); border-radius: 6px; padding: 8px 14px; }
.summary b { display: block; font-size: 18px; }
footer { margin-top: 32px; font-size: 12px; color: var(--muted); }
footer dt { font-weight: 600; color: var(--ink); margin-top: 6px; }
footer dd { margin: 0 0 0 1em; }
@page { size: A4; margin: 12mm 10mm; }
@media print {
  html { font-size: 11px; }
  body { max-width: none; padding: 0; }
  h2 { margin-top: 16px; }
  .pagebreak { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<header>
  <h1>{{ data.shop_id }} · {{ data.period.month }} 退货月报</h1>
  <p class="meta">数据截至 {{ data_through }} · 对比 {{ data.previous.month }} · 生成于 {{ generated_at }} · returnwatch</p>
  <div class="summary">
    <div><span class="muted">订单行</span><b>{{ fmt.count(data.kpis.order_lines) }}</b></div>
    <div><span class="muted">退货（退货退款 + 仅退款）</span><b>{{ fmt.count(data.kpis.returns) }}</b></div>
    <div><span class="muted">退货率</span><b>{{ fmt.rate(data.kpis.return_rate) }}</b></div>
    <div><span class="muted">退款金额</span><b>{{ fmt.money(data.kpis.refunded_amount) }}</b></div>
    <div><span class="muted">本月异常</span><b>{{ primary_anomalies }}</b></div>
  </div>
  {% if data.is_empty %}<p class="empty">{{ data.period.month }} 没有这个店铺的订单或退货数据。</p>{% endif %}
</header>

<section id="kpis">
  <h2>核心指标</h2>
  <table>
    <thead><tr><th>指标</th><th class="num">本月</th><th class="num">上月</th><th class="num">变化</th>
    <th>行业基准</th><th>健康阈值</th><th>状态</th></tr></thead>
    <tbody>
    {% for row in data.scorecard %}
      <tr>
        <td>{{ row.label }}</td>
        <td class="num">{{ fmt.value(row.unit, row.value) }}{% if row.detail %}<span class="sub">{{ row.detail }}</span>{% endif %}</td>
        <td class="num">{{ fmt.value(row.unit, row.previous) }}{% if row.previous_detail %}<span class="sub">{{ row.previous_detail }}</span>{% endif %}</td>
        <td class="num">{{ fmt.change(row.unit, row.change) }}</td>
        <td>{{ fmt.benchmark(row.benchmark) }}</td>
        <td>{{ row.threshold or "—" }}</td>
        <td><span class="badge {{ row.status }}">{{ fmt.STATUS_LABELS[row.status] }}</span></td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  <p class="note">行业基准：按本店各品类的订单行加权的品类退货率区间（[report.benchmarks]）。纠纷率 = 进入平台仲裁的退货 / 退货；申请→同意、申请→完结按退货单计（小时）；复购影响系数 = 退货买家的复购率 ÷ 全部买家的复购率（{{ report.repurchase_window_days }} 天内再次下单）。</p>
  {% if not data.categories.empty %}
  <table style="margin-top:10px">
    <thead><tr><th>品类</th><th class="num">订单行</th><th class="num">退货</th><th class="num">退货率</th><th>行业基准</th><th>对比</th></tr></thead>
    <tbody>
    {% for row in data.categories.itertuples() %}
      <tr><td>{{ row.category }}</td><td class="num">{{ fmt.count(row.order_lines) }}</td><td class="num">{{ fmt.count(row.returns) }}</td>
      <td class="num">{{ fmt.rate(row.return_rate) }}</td>
      <td>{% if fmt.missing(row.benchmark_low) %}—{% else %}{{ fmt.benchmark((row.benchmark_low, row.benchmark_high)) }}{% endif %}</td>
      <td>{{ category_verdict(row) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="trend">
  <h2>每日退货率与异常</h2>
  <figure><img alt="每日退货率" src="{{ images.trend }}"></figure>
  {% if data.anomalies.empty %}
  <p class="empty">本月没有检测到异常。</p>
  {% else %}
  <table>
    <thead><tr><th>日期</th><th>级别</th><th>范围</th><th class="num">退货率</th><th class="num">基线</th>
    <th class="num">退货 / 预期</th><th class="num">多出</th><th>关联</th></tr></thead>
    <tbody>
    {% for row in data.anomalies.itertuples() if row.is_primary %}
      <tr>
        <td>{{ day_text(row.day) }}</td>
        <td class="sev-{{ row.severity }}">{{ fmt.SEVERITY_LABELS.get(row.severity, row.severity) }}</td>
        <td>{{ anomaly_scope(row) }}</td>
        <td class="num">{{ fmt.rate(row.return_rate) }}</td>
        <td class="num">{{ fmt.rate(row.baseline_rate) }}</td>
        <td class="num">{{ fmt.count(row.returns) }} / {{ "%.1f"|format(row.expected_returns) if not fmt.missing(row.expected_returns) else "n/a" }}</td>
        <td class="num">{{ "%.1f"|format(row.extra_returns) if not fmt.missing(row.extra_returns) else "n/a" }}</td>
        <td class="note">{{ anomaly_links(row) }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  <p class="note">只列主要异常；被它们带动的地区、SKU 或全店列在“关联”中（检测的归并规则见 docs/detection.md）。</p>
  {% endif %}
</section>

<section id="skus" class="pagebreak">
  <h2>退货最多的 SKU（前 {{ report.top_skus }}）</h2>
  {% if data.top_skus.empty %}<p class="empty">本月没有退货。</p>{% else %}
  <table>
    <thead><tr><th>#</th><th>商品</th><th class="num">订单行</th><th class="num">退货</th><th class="num">退货率</th>
    <th class="num">较上月</th><th>主要售后原因</th><th class="num">退款金额</th></tr></thead>
    <tbody>
    {% for row in data.top_skus.itertuples() %}
      <tr>
        <td class="num">{{ loop.index }}</td>
        <td>{{ row.product_name or "" }}<span class="sub">{{ row.sku_id }}</span></td>
        <td class="num">{{ fmt.count(row.order_lines) }}</td>
        <td class="num">{{ fmt.count(row.returns) }}</td>
        <td class="num">{{ fmt.rate(row.return_rate) }}</td>
        <td class="num">{{ fmt.points(row.rate_change) }}</td>
        <td>{{ reasons_text(row.top_reasons) }}</td>
        <td class="num">{{ fmt.money(row.refunded_amount) }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  <figure><img alt="退货最多的 SKU" src="{{ images.top_skus }}"></figure>
  {% endif %}
</section>

<section id="heatmap">
  <h2>地区 × SKU 退货率</h2>
  <figure><img alt="地区 × SKU 退货率" src="{{ images.heatmap }}"></figure>
  <p class="note">订单行最多的 {{ report.heatmap_regions }} 个省份 × 退货最多的 {{ report.heatmap_skus }} 个 SKU；订单行少于 {{ report.min_cell_order_lines }} 的格子为灰色（样本太少，比率不可信）。</p>
</section>

<section id="reasons" class="pagebreak">
  <h2>退货原因</h2>
  <figure><img alt="退货原因" src="{{ images.reasons }}"></figure>
  {% if not reason_labels.empty %}
  <table>
    <thead><tr><th>售后原因（平台）</th><th>标准分类</th><th>判定方式</th><th class="num">本月退货</th></tr></thead>
    <tbody>
    {% for row in reason_labels.itertuples() %}
      <tr><td>{{ row.reason }}</td><td>{{ row.reason_class }}</td><td>{{ DECIDED_BY.get(row.decided_by, row.decided_by) }}</td><td class="num">{{ fmt.count(row.returns) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  <p class="note">平台原因按 [report.reason_map] 映射；原因笼统（{{ report.vague_reasons|join("、") }}）或未映射时，按买家售后说明中的关键词（[report.reason_keywords]）归类。</p>
  {% endif %}
</section>

<section id="carriers">
  <h2>快递公司</h2>
  <figure><img alt="快递公司" src="{{ images.carriers }}"></figure>
  {% if not data.carriers.empty %}
  <table>
    <thead><tr><th>快递公司</th><th class="num">发货订单行</th><th class="num">退货</th><th class="num">退货率</th>
    <th class="num">运输破损</th><th class="num">破损占退货</th></tr></thead>
    <tbody>
    {% for row in data.carriers.itertuples() %}
      <tr><td>{{ row.carrier if not fmt.missing(row.carrier) else "（未发货）" }}</td><td class="num">{{ fmt.count(row.order_lines) }}</td>
      <td class="num">{{ fmt.count(row.returns) }}</td><td class="num">{{ fmt.rate(row.return_rate) }}</td>
      <td class="num">{{ fmt.count(row.damaged_returns) }}</td><td class="num">{{ fmt.rate(row.damaged_share) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<section id="alerts">
  <h2>本月告警记录</h2>
  {% if data.alerts.empty %}
  <p class="empty">本月没有发出告警消息。</p>
  {% else %}
  <table>
    <thead><tr><th>日期</th><th>渠道</th><th>类型</th><th>标题</th><th>涉及</th><th>状态</th></tr></thead>
    <tbody>
    {% for row in data.alerts.itertuples() %}
      <tr><td>{{ day_text(row.day) }}</td><td>{{ row.channel }}</td><td>{{ ALERT_KINDS.get(row.kind, row.kind) }}{% if row.parts > 1 %} {{ row.part }}/{{ row.parts }}{% endif %}</td>
      <td>{{ row.title }}</td><td>{{ row.slices|join("、") }}</td><td>{{ ALERT_STATUS.get(row.status, row.status) }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
</section>

<footer>
  <dl>
    <dt>退货率</dt><dd>本月申请的退货（退货退款、仅退款；不含换货、补寄）÷ 本月支付的订单行，与每日退货率的定义一致。</dd>
    <dt>退款金额</dt><dd>本月申请、已退款完成的退货的退款金额。</dd>
    <dt>基线与区间</dt><dd>每日基线为前 {{ window_days }} 天日退货率的平均值，区间为基线 ±2 个标准差。</dd>
    <dt>地区</dt><dd>退货单的省份，缺失时取其订单行或订单的省份。</dd>
  </dl>
  <p>returnwatch · docs/report.md 说明每个数字的计算方法。</p>
</footer>
</body>
</html>
"""
