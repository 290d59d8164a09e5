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

/// A destination must be an absolute http(s) URL once its macros are filled.
pub fn validate_destination(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) || !url.is_ascii() {
        return Err(
            "destination_url must be ASCII without spaces or control characters; percent-encode the rest"
                .into(),
        );
    }
    // A macro in the host would let a visitor choose where the link goes (`{sub1}` = `.evil.net`).
    let authority = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    if authority.contains('{') {
        return Err("destination_url may use macros in its path and query, not in its host".into());
    }
    let subs: [Option<String>; 5] = Default::default();
    let sample = expand(
        url,
        &MacroValues {
            click_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            offer_id: 1,
            partner_id: 1,
            subs: &subs,
        },
    );
    match url::Url::parse(&sample) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
        _ => Err("destination_url must be an absolute http or https URL".into()),
    }
}

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
        assert!(validate_destination("https://shop.test/?c={click_id}").is_ok());
        assert!(validate_destination("ftp://shop.test/").is_err());
        assert!(validate_destination("/relative").is_err());
        assert!(validate_destination("javascript:alert(1)").is_err());
        assert!(validate_destination("https://shop.test{sub1}/").is_err());
        assert!(validate_destination("https://{sub1}.shop.test/").is_err());
        assert!(validate_destination("https://shop.test/\u{1}x").is_err());
        assert!(validate_destination("https://shop.test/a b").is_err());
        assert!(validate_destination("https://shop.test/{sub1}?x={sub2}#{click_id}").is_ok());
    }
}
