//! Small line charts rendered on the server as inline SVG (no script, readable without
//! colour: each series has its own dash pattern and a text summary beside it).

use std::fmt::Write as _;

/// Values over time: one label per point and named series of the same length.
pub struct Trend {
    pub labels: Vec<String>,
    pub series: Vec<(&'static str, Vec<f64>)>,
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const PAD: f64 = 36.0;
const STYLES: [(&str, &str); 2] = [("#1f4e9c", ""), ("#9c2f1f", "6 4")];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Trend {
    /// The chart as an `<svg>` element with a title and description for screen readers.
    pub fn svg(&self) -> String {
        let n = self.labels.len();
        let mut out = String::new();
        let desc = self
            .series
            .iter()
            .map(|(name, v)| {
                format!(
                    "{name}: {} at the latest sync",
                    v.last()
                        .map(|x| format!("{x:.0}"))
                        .unwrap_or_else(|| "none".into())
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let _ = write!(
            out,
            r#"<svg class="trend" viewBox="0 0 {W} {H}" role="img" aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg"><title id="trend-title">Users and open findings per sync</title><desc id="trend-desc">{}</desc>"#,
            esc(&desc)
        );
        let _ = write!(
            out,
            r##"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#555"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="#555"/>"##,
            b = H - PAD,
            r = W - 8.0
        );
        if n == 0 {
            let _ = write!(
                out,
                r##"<text x="{x}" y="{y}" fill="#333">No successful sync yet</text></svg>"##,
                x = PAD + 10.0,
                y = H / 2.0
            );
            return out;
        }
        for (i, (name, values)) in self.series.iter().enumerate() {
            let (colour, dash) = STYLES[i % STYLES.len()];
            let max = values.iter().copied().fold(1.0_f64, f64::max);
            let x = |j: usize| {
                if n == 1 {
                    PAD + (W - PAD - 8.0) / 2.0
                } else {
                    PAD + (W - PAD - 8.0) * j as f64 / (n - 1) as f64
                }
            };
            let y = |v: f64| H - PAD - (H - 2.0 * PAD) * v / max;
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(j, v)| format!("{:.1},{:.1}", x(j), y(*v)))
                .collect();
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
                points.join(" ")
            );
            for (j, v) in values.iter().enumerate() {
                let _ = write!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} {}: {v:.0}</title></circle>"#,
                    x(j),
                    y(*v),
                    esc(name),
                    esc(&self.labels[j])
                );
            }
            let _ = write!(
                out,
                r#"<text x="{:.0}" y="{:.0}" fill="{colour}" font-size="12">{} (max {max:.0})</text>"#,
                PAD + 4.0 + 200.0 * i as f64,
                PAD - 12.0,
                esc(name)
            );
        }
        let _ = write!(
            out,
            r##"<text x="{PAD}" y="{y}" fill="#333" font-size="11">{}</text><text x="{r}" y="{y}" fill="#333" font-size="11" text-anchor="end">{}</text></svg>"##,
            esc(&self.labels[0]),
            esc(&self.labels[n - 1]),
            y = H - PAD + 16.0,
            r = W - 8.0
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_points_and_escapes() {
        let t = Trend {
            labels: vec!["a<b".into(), "c".into()],
            series: vec![("Users", vec![1.0, 2.0])],
        };
        let svg = t.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b"));
        assert_eq!(svg.matches("<circle").count(), 2);
        let empty = Trend {
            labels: vec![],
            series: vec![],
        }
        .svg();
        assert!(empty.contains("No successful sync yet"));
    }
}
