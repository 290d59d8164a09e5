//! The clicks-and-conversions chart, drawn on the server as inline SVG: no script, no request,
//! readable by screen readers (`<title>`, `<desc>`; the page also gives the numbers as a table).

use std::fmt::Write;

/// One time bucket of the chart.
pub struct Point {
    pub label: String,
    pub clicks: i64,
    pub conversions: i64,
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 48.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest "nice" bound (1, 2 or 5 × 10^k) at or above `max`, at least 1.
fn nice_ceiling(max: i64) -> i64 {
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m).max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The label of the grid line at `k` halves of `max`: a bound of 1 or 5 puts the middle line
/// at 0.5 or 2.5, which integer halving would label 0 or 2.
fn axis_label(max: i64, k: i64) -> String {
    let halves = max.saturating_mul(k);
    let whole = crate::web::format::int(halves / 2);
    if halves % 2 == 0 {
        whole
    } else {
        format!("{whole}.5")
    }
}

/// The SVG, `title` and `desc` included; bars are clicks (left axis), the line conversions
/// (right axis).
pub fn svg(points: &[Point], title: &str, desc: &str) -> String {
    let n = points.len().max(1) as f64;
    let max_clicks = nice_ceiling(points.iter().map(|p| p.clicks).max().unwrap_or(0));
    let max_conv = nice_ceiling(points.iter().map(|p| p.conversions).max().unwrap_or(0));
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n;
    let y = |v: i64, max: i64| TOP + plot_h - plot_h * v as f64 / max as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    );
    // Grid and both axes' labels at 0, half and the top.
    for k in 0..=2 {
        let yy = TOP + plot_h * f64::from(2 - k) / 2.0;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text class="axis conv" x="{:.1}" y="{:.1}">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            axis_label(max_clicks, i64::from(k)),
            W - RIGHT + 6.0,
            yy + 4.0,
            axis_label(max_conv, i64::from(k)),
        );
    }
    let bar_w = (slot * 0.7).max(1.0);
    let every = (points.len() / 8).max(1);
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let top = y(p.clicks, max_clicks);
        let _ = write!(
            s,
            r#"<rect class="bar" x="{:.1}" y="{top:.1}" width="{bar_w:.1}" height="{:.1}"><title>{}: {} clicks</title></rect>"#,
            x + (slot - bar_w) / 2.0,
            TOP + plot_h - top,
            escape(&p.label),
            crate::web::format::int(p.clicks)
        );
        let cx = x + slot / 2.0;
        let cy = y(p.conversions, max_conv);
        let _ = write!(line, "{}{cx:.1},{cy:.1}", if i == 0 { "" } else { " " });
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text class="axis" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                H - BOTTOM + 18.0,
                escape(&p.label)
            );
        }
    }
    let _ = write!(s, r#"<polyline class="line" points="{line}"/>"#);
    for (i, p) in points.iter().enumerate() {
        let cx = LEFT + slot * i as f64 + slot / 2.0;
        let _ = write!(
            s,
            r#"<circle class="dot" cx="{cx:.1}" cy="{:.1}" r="3"><title>{}: {} conversions</title></circle>"#,
            y(p.conversions, max_conv),
            escape(&p.label),
            crate::web::format::int(p.conversions)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_labels_and_escaping() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(101), 200);
        assert_eq!(nice_ceiling(400), 500);
        assert_eq!(axis_label(5, 1), "2.5");
        assert_eq!(axis_label(1, 1), "0.5");
        assert_eq!(axis_label(10, 1), "5");
        assert_eq!(axis_label(5, 2), "5");
        assert_eq!(axis_label(5_000, 1), "2,500");
        let pts = vec![
            Point {
                label: "a<b".into(),
                clicks: 10,
                conversions: 1,
            },
            Point {
                label: "c".into(),
                clicks: 4,
                conversions: 2,
            },
        ];
        let svg = svg(&pts, "Clicks & conversions", "d");
        assert!(svg.contains("<title id=\"chart-title\">Clicks &amp; conversions</title>"));
        assert!(svg.contains("a&lt;b: 10 clicks"));
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(!svg.contains("a<b"));
    }
}
