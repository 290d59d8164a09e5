//! Destination URL macros: `{click_id}`, `{offer_id}`, `{partner_id}`, `{sub1}`…`{sub5}`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but unreserved characters is encoded, so a value can't break out of its slot.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub struct MacroValues<'a> {
    pub click_id: &'a str,
    pub offer_id: i64,
    pub partner_id: i64,
    pub subs: &'a [Option<String>; 5],
}

/// Fill the macros of `destination`; append `click_id=` when the URL has no `{click_id}`.
pub fn expand(destination: &str, v: &MacroValues) -> String {
    let mut out = String::with_capacity(destination.len() + 64);
    let mut rest = destination;
    let mut saw_click = false;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let Some(end) = tail.find('}') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let name = &tail[1..end];
        match name {
            "click_id" => {
                saw_click = true;
                out.push_str(v.click_id);
            }
            "offer_id" => out.push_str(&v.offer_id.to_string()),
            "partner_id" => out.push_str(&v.partner_id.to_string()),
            "sub1" | "sub2" | "sub3" | "sub4" | "sub5" => {
                let i = usize::from(name.as_bytes()[3] - b'1');
                if let Some(s) = &v.subs[i] {
                    out.extend(utf8_percent_encode(s, COMPONENT));
                }
            }
            _ => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    if !saw_click {
        append_click_id(&mut out, v.click_id);
    }
    out
}

fn append_click_id(url: &mut String, click_id: &str) {
    let fragment = url.find('#').map(|i| url.split_off(i));
    let sep = if !url.contains('?') {
        "?"
    } else if url.ends_with('?') || url.ends_with('&') {
        ""
    } else {
        "&"
    };
    url.push_str(sep);
    url.push_str("click_id=");
    url.push_str(click_id);
    if let Some(f) = fragment {
        url.push_str(&f);
    }
}

/// The macro names the expander fills; anything else in braces is left as it is.
const NAMES: [&str; 8] = [
    "click_id",
    "offer_id",
    "partner_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
];

/// Stands in for macro `i` while the template is parsed: letters and digits only, so the URL
/// parser keeps it verbatim wherever it sits (the path would percent-encode the braces).
fn placeholder(i: usize) -> String {
    format!("trckermacro{i}x")
}

/// A destination URL template: an absolute http(s) URL in the WHATWG form browsers use, with
/// macros only after the host (in the path, query or fragment), so no macro value can change
/// where a click goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination(String);

impl Destination {
    /// Check and normalise `text`. The stored form is what the URL parser makes of it
    /// (`HTTPS:shop.example` is `https://shop.example/`, `\` in the path is `/`), with the
    /// macros put back: the text we keep is the text browsers will read, whatever the spelling.
    pub fn parse(text: &str) -> Result<Destination, String> {
        const NOT_IN_HOST: &str = "destination_url may use macros in its path and query, not in its scheme, host, port or user";
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) || !text.is_ascii() {
            return Err(
                "destination_url must be ASCII without spaces or control characters; percent-encode the rest"
                    .into(),
            );
        }
        if text.contains("trckermacro") {
            return Err("destination_url must not contain the text \"trckermacro\"".into());
        }
        let mut tokened = text.to_string();
        for (i, name) in NAMES.iter().enumerate() {
            tokened = tokened.replace(&format!("{{{name}}}"), &placeholder(i));
        }
        let parsed = absolute_http(&tokened)?;
        // Everything up to the path: scheme, user, password, host and port. No macro may sit
        // there, nor a brace the parser decoded from `%7B` (the expander would then see it).
        let origin = &parsed[..url::Position::BeforePath];
        if origin.contains("trckermacro") || origin.contains(['{', '}']) {
            return Err(NOT_IN_HOST.into());
        }
        let mut normal = parsed.as_str().to_string();
        for (i, name) in NAMES.iter().enumerate() {
            normal = normal.replace(&placeholder(i), &format!("{{{name}}}"));
        }
        // Belt and braces: values that would move the host if a macro reached it must all
        // land on the same origin as the template itself.
        let want = origin_of(&parsed);
        for sample in SAMPLES {
            let subs = sample.subs.map(|s| Some(s.to_string()));
            let filled = expand(
                &normal,
                &MacroValues {
                    click_id: sample.click_id,
                    offer_id: sample.id,
                    partner_id: sample.id,
                    subs: &subs,
                },
            );
            match url::Url::parse(&filled) {
                Ok(u) if origin_of(&u) == want => {}
                _ => return Err(NOT_IN_HOST.into()),
            }
        }
        Ok(Destination(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn absolute_http(text: &str) -> Result<url::Url, String> {
    match url::Url::parse(text) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(u),
        _ => Err("destination_url must be an absolute http or https URL".into()),
    }
}

type Origin<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<url::Host<&'a str>>,
    Option<u16>,
);

fn origin_of(u: &url::Url) -> Origin<'_> {
    (u.scheme(), u.username(), u.password(), u.host(), u.port())
}

struct Sample {
    click_id: &'static str,
    id: i64,
    subs: [&'static str; 5],
}

/// Macro values used to prove the origin can't move: empty, plain, and ones that would add
/// labels or digits to a host or port.
const SAMPLES: [Sample; 3] = [
    Sample {
        click_id: "",
        id: 1,
        subs: [""; 5],
    },
    Sample {
        click_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        id: 2,
        subs: ["a", "b", "c", "d", "e"],
    },
    Sample {
        click_id: "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        id: 987_654_321,
        subs: [".evil.example"; 5],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(a: &str) -> [Option<String>; 5] {
        [Some(a.to_string()), None, None, None, None]
    }

    #[test]
    fn fills_macros_and_encodes() {
        let s = subs("a b&c");
        let v = MacroValues {
            click_id: "CID",
            offer_id: 7,
            partner_id: 9,
            subs: &s,
        };
        assert_eq!(
            expand(
                "https://x.test/?c={click_id}&o={offer_id}&p={partner_id}&s={sub1}&t={sub2}",
                &v
            ),
            "https://x.test/?c=CID&o=7&p=9&s=a%20b%26c&t="
        );
    }

    #[test]
    fn appends_click_id_when_absent() {
        let s = subs("x");
        let v = MacroValues {
            click_id: "CID",
            offer_id: 1,
            partner_id: 2,
            subs: &s,
        };
        assert_eq!(
            expand("https://x.test/p", &v),
            "https://x.test/p?click_id=CID"
        );
        assert_eq!(
            expand("https://x.test/p?a=1", &v),
            "https://x.test/p?a=1&click_id=CID"
        );
        assert_eq!(
            expand("https://x.test/p?a=1#top", &v),
            "https://x.test/p?a=1&click_id=CID#top"
        );
        assert_eq!(
            expand("https://x.test/{unknown}", &v),
            "https://x.test/{unknown}?click_id=CID"
        );
    }

    #[test]
    fn validates_destinations() {
        assert!(Destination::parse("https://shop.test/?c={click_id}").is_ok());
        assert!(Destination::parse("ftp://shop.test/").is_err());
        assert!(Destination::parse("/relative").is_err());
        assert!(Destination::parse("javascript:alert(1)").is_err());
        assert!(Destination::parse("https://shop.test{sub1}/").is_err());
        assert!(Destination::parse("https://{sub1}.shop.test/").is_err());
        assert!(Destination::parse("https://shop.test/\u{1}x").is_err());
        assert!(Destination::parse("https://shop.test/a b").is_err());
        assert!(Destination::parse("https://shop.test/{sub1}?x={sub2}#{click_id}").is_ok());
    }

    fn norm(url: &str) -> Result<String, String> {
        Destination::parse(url).map(Destination::into_string)
    }

    #[test]
    fn no_spelling_puts_a_macro_in_the_origin() {
        for bad in [
            "https:{sub1}//x.test/",
            "https:x.test{sub1}/",
            "https:shop.example{sub1}/",
            "https://{sub1}.x.test/",
            "https://x.test{sub1}/",
            "https://x.test{sub1}",
            "https://x.test:{sub1}/",
            "https://x.test:{offer_id}/",
            "https://x.test:80{partner_id}/",
            "https://u{sub1}@x.test/",
            "https://u:{sub1}@x.test/",
            "https://{click_id}@x.test/",
            "HTTPS://x.test{sub1}",
            "HTTPS:X.TEST{sub1}/",
            "https:/x.test{sub1}/",
            "https:\\\\x.test{sub1}/",
            "{sub1}https://x.test/",
            "http{sub1}://x.test/",
            "https://x.test%7Bsub1%7D/",
            "https://%7Bsub1%7D.x.test/",
            "https://x.test{unknown}/",
            "ht\ttps://x.test/{sub1}",
            "https://x.test/\n{sub1}",
            "https://x.test/trckermacro0x",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn stores_the_form_browsers_read() {
        assert_eq!(
            norm("https:shop.example/").unwrap(),
            "https://shop.example/"
        );
        assert_eq!(
            norm("HTTPS://Shop.Example").unwrap(),
            "https://shop.example/"
        );
        // A backslash is a path separator to browsers: the macro is in the path, and stays.
        assert_eq!(
            norm("https://x.test\\{sub1}/").unwrap(),
            "https://x.test/{sub1}/"
        );
        assert_eq!(
            norm("https://x.test/{sub1}?s={sub2}&c={click_id}#{sub3}").unwrap(),
            "https://x.test/{sub1}?s={sub2}&c={click_id}#{sub3}"
        );
        assert_eq!(
            norm("https://x.test:8443/a/{offer_id}/{partner_id}").unwrap(),
            "https://x.test:8443/a/{offer_id}/{partner_id}"
        );
        // Literal percent-encoded braces in the path are only text: the expander ignores them.
        assert_eq!(
            norm("https://x.test/%7Bsub1%7D").unwrap(),
            "https://x.test/%7Bsub1%7D"
        );
        let d = norm("https://x.test/%7Bsub1%7D").unwrap();
        let s = subs(".evil");
        let v = MacroValues {
            click_id: "C",
            offer_id: 1,
            partner_id: 1,
            subs: &s,
        };
        assert_eq!(expand(&d, &v), "https://x.test/%7Bsub1%7D?click_id=C");
    }

    #[test]
    fn values_stay_in_their_component() {
        for value in [
            "/../@evil.example",
            "#frag",
            "?a=b&c=d",
            "x y",
            "..%2F",
            "\\evil",
            "é",
        ] {
            let s = subs(value);
            let v = MacroValues {
                click_id: "C",
                offer_id: 1,
                partner_id: 1,
                subs: &s,
            };
            let out = expand("https://x.test/p?s={sub1}&t=1#f", &v);
            let u = url::Url::parse(&out).unwrap();
            assert_eq!(u.host_str(), Some("x.test"), "{value:?}");
            assert_eq!(u.path(), "/p", "{value:?}");
            assert_eq!(u.fragment(), Some("f"), "{value:?}");
            let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            assert_eq!(
                pairs,
                [
                    ("s".to_string(), value.to_string()),
                    ("t".into(), "1".into()),
                    ("click_id".into(), "C".into())
                ],
                "{value:?}"
            );
        }
    }
}
