//! Prometheus text exposition (format 0.0.4), napi-free: `store.metrics()`
//! fills a [`Registry`] from the store's counters and renders it.

/// A metric family's type line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
}

#[derive(Debug, Clone, PartialEq)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Families in first-seen order, each with its samples grouped under it.
#[derive(Debug, Default)]
pub struct Registry {
    families: Vec<Family>,
}

impl Registry {
    /// Adds one sample; the first sample of a name fixes its help and type.
    pub fn add(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: MetricType,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        match self.families.iter_mut().find(|f| f.name == name) {
            Some(f) => f.samples.push((labels, value)),
            None => self.families.push(Family { name, help, kind, samples: vec![(labels, value)] }),
        }
    }

    pub fn counter(&mut self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], value: u64) {
        self.add(name, help, MetricType::Counter, labels, value as f64);
    }

    pub fn gauge(&mut self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.add(name, help, MetricType::Gauge, labels, value);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            out.push_str(&format!("# HELP {} {}\n", f.name, escape_help(f.help)));
            let kind = match f.kind {
                MetricType::Counter => "counter",
                MetricType::Gauge => "gauge",
            };
            out.push_str(&format!("# TYPE {} {kind}\n", f.name));
            for (labels, value) in &f.samples {
                out.push_str(f.name);
                if !labels.is_empty() {
                    let parts: Vec<String> =
                        labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
                    out.push('{');
                    out.push_str(&parts.join(","));
                    out.push('}');
                }
                out.push(' ');
                out.push_str(&number(*value));
                out.push('\n');
            }
        }
        out
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_group_their_samples_and_escape_labels() {
        let mut r = Registry::default();
        r.counter("wastore_ops_total", "Calls.", &[("backend", "a\"b\\c\nd")], 3);
        r.gauge("wastore_sessions", "Live sessions.", &[], 2.0);
        r.counter("wastore_ops_total", "Calls.", &[("backend", "x")], 4);
        r.gauge("wastore_ratio", "A ratio.", &[], 0.5);
        assert_eq!(
            r.render(),
            "# HELP wastore_ops_total Calls.\n# TYPE wastore_ops_total counter\n\
             wastore_ops_total{backend=\"a\\\"b\\\\c\\nd\"} 3\nwastore_ops_total{backend=\"x\"} 4\n\
             # HELP wastore_sessions Live sessions.\n# TYPE wastore_sessions gauge\nwastore_sessions 2\n\
             # HELP wastore_ratio A ratio.\n# TYPE wastore_ratio gauge\nwastore_ratio 0.5\n"
        );
    }
}
