//! `fgd-sync serve`'s `/ui` as a real process, with both stand-ins: off without an operator
//! token and on a public listener; bad logins open no session; actions without the session's
//! CSRF token (or from another origin) are refused and write nothing; a stale "take HNP"
//! writes nothing and the page shows Git's new blob; and a real browser (Debian's Chromium,
//! headless, over WebDriver) logs in, sees the conflict with its diff, takes HNP's version,
//! and leaves screenshots in `target/test-artifacts/` (`ui-conflict.png`, `ui-conflict-phone.png`,
//! `ui-settled.png`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fgd_sync_tests::github::client::{self, Response};
use fgd_sync_tests::hnp::WebhookStyle;
use fgd_sync_tests::{cli, TempDir};
use serde_json::{json, Value};

use crate::kit::serve::Serve;
use crate::kit::{managed, wait_for, World, WAIT};

const UI_TOKEN: &str = "operator-token-for-the-ui-tests";

/// `serve` on loopback with the operator token, NetBox's webhooks pointed at it.
fn serve_ui(world: &World) -> Serve {
    let serve = Serve::start(
        &world.config,
        &[("FGD_SYNC_UI_TOKEN", Some(UI_TOKEN))],
        &["--coalesce-ms", "200", "--reconcile-interval", "0", "--ui-token-env", "FGD_SYNC_UI_TOKEN"],
    );
    world.hook(&serve, WebhookStyle::NetBox4);
    serve
}

/// Someone edits `vpc-a` in Git (VLAN `from` -> `to`), as a push would.
fn edit_in_git(world: &World, from: u32, to: u32) -> String {
    world.edit(&[managed("vpcs", "vpc-a")], |text| text.replace(&format!("vlan: {from}"), &format!("vlan: {to}")))
}

/// `vpc-a` synced, then edited in Git (VLAN 1999) and in NetBox (VLAN 2001): the webhook's
/// sync reports the conflict. Returns the CR's NetBox id.
fn conflict(world: &World, serve: &Serve) -> u64 {
    let id = world.hnp.add(world.vpc("vpc-a", 1001));
    wait_for("the first sync", || world.file(&managed("vpcs", "vpc-a")));
    serve.wait_syncs(1);
    edit_in_git(world, 1001, 1999);
    world.hnp.update(id, world.vpc("vpc-a", 2001));
    wait_for("the conflict", || (serve.metric("fgd_sync_conflicts{fabric=\"dc1\"}") == 1.0).then_some(()));
    id
}

/// POSTs a form (`application/x-www-form-urlencoded`) with these extra headers.
fn post_form(serve: &Serve, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
    let body = encode(fields);
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    serve.send("POST", path, &all, Some(body.as_bytes()))
}

/// Logs in; the session cookie (`name=value`), or the refusal.
fn login(serve: &Serve, name: &str, token: &str) -> Result<String, Response> {
    let response = post_form(serve, "/ui/login", &[("name", name), ("token", token)], &[]);
    match (response.status, response.header("set-cookie")) {
        (303, Some(cookie)) => Ok(cookie.split(';').next().unwrap_or_default().to_owned()),
        _ => Err(response),
    }
}

/// `/ui` as the holder of `cookie` sees it.
fn page_as(serve: &Serve, cookie: &str) -> String {
    let response = serve.send("GET", "/ui", &[("Cookie", cookie)], None);
    assert_eq!(response.status, 200, "{}", response.text());
    response.text()
}

/// `a=b&c=d`, percent-encoded as a browser encodes a form.
fn encode(fields: &[(&str, &str)]) -> String {
    let part = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", part(k), part(v))).collect::<Vec<_>>().join("&")
}

/// The `value` of the page's first hidden field `name`.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in:\n{page}")) + marker.len();
    page[start..].split('"').next().unwrap_or_default().to_owned()
}

/// The hidden fields of the conflict's form, as the page pins them.
fn take_form(page: &str) -> Vec<(&'static str, String)> {
    ["csrf", "fabric", "path", "expect"].iter().map(|f| (*f, hidden(page, f))).collect()
}

/// A form's fields with the button pressed (`take`).
fn fields<'a>(pinned: &'a [(&'static str, String)], take: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = pinned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    out.push(("take", take));
    out
}

#[test]
fn ui_is_off_without_an_operator_token_and_on_a_public_listener() {
    let world = World::seeded();
    let plain = world.serve(&["--coalesce-ms", "200", "--reconcile-interval", "0"]);
    for (method, path) in [("GET", "/ui"), ("POST", "/ui/login"), ("POST", "/ui/resolve"), ("GET", "/ui/x")] {
        assert_eq!(plain.send(method, path, &[], None).status, 404, "{method} {path}");
    }
    drop(plain);

    // A public webhook listener never serves it; the metrics listener does.
    let split = Serve::start(
        &world.config,
        &[("FGD_SYNC_UI_TOKEN", Some(UI_TOKEN))],
        &["--listen", "0.0.0.0:0", "--metrics-listen", "127.0.0.1:0", "--ui-token-env", "FGD_SYNC_UI_TOKEN"],
    );
    assert_eq!(split.get("/ui").status, 404);
    let admin = split.metrics_url.clone().expect("a metrics listener");
    let login = client::send("GET", &format!("{admin}/ui"), &[], None, WAIT).expect("GET");
    assert_eq!(login.status, 200);
    assert!(login.text().contains("action=\"/ui/login\""), "{}", login.text());
    assert!(split.log().contains(&format!("operators' page on {admin}/ui")), "{}", split.log());
    drop(split);

    // A short token is refused at start.
    let run = cli::run(&mut Serve::command(&world.config, &[("SHORT", Some("short"))], &["--ui-token-env", "SHORT"]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("the operator token for /ui is shorter than 16 characters"), "{}", run.stderr);
}

#[test]
fn a_bad_login_is_refused_and_opens_no_session() {
    let world = World::seeded();
    let serve = serve_ui(&world);
    let first = serve.get("/ui");
    assert_eq!(first.status, 200);
    assert!(first.text().contains("action=\"/ui/login\""), "{}", first.text());
    assert_eq!(first.header("x-frame-options"), Some("DENY"));
    assert!(first.header("content-security-policy").is_some_and(|csp| csp.contains("default-src 'none'")));

    for (name, token) in [("alice", "wrong-token-of-some-length"), ("alice", ""), ("", UI_TOKEN), ("<b>", UI_TOKEN)] {
        let refused = login(&serve, name, token).expect_err("refused");
        assert_eq!(refused.status, 401, "{name:?} {token:?}: {}", refused.text());
        assert_eq!(refused.header("set-cookie"), None, "{name:?} {token:?}: a cookie");
        assert!(refused.text().contains("action=\"/ui/login\""), "the form again");
    }
    assert!(login(&serve, "alice", &format!("{UI_TOKEN}x")).is_err(), "a longer token");
    let forged = format!("fgd_sync_session={}", "a".repeat(64));
    assert!(page_as(&serve, &forged).contains("action=\"/ui/login\""), "a made-up session id is no session");
    assert!(!serve.log().contains("ui: logged in"), "{}", serve.log());

    // The right token: a session cookie as the brief wants it, and the dashboard.
    let response = post_form(&serve, "/ui/login", &[("name", "alice"), ("token", UI_TOKEN)], &[]);
    assert_eq!((response.status, response.header("location")), (303, Some("/ui")));
    let cookie = response.header("set-cookie").expect("cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    let session = cookie.split(';').next().expect("name=value");
    let page = page_as(&serve, session);
    assert!(page.contains("Log out alice") && page.contains("Logged in as alice."), "{page}");

    // Form bodies are capped, and only forms are read.
    let big = "x".repeat(20_000);
    assert_eq!(post_form(&serve, "/ui/login", &[("name", "alice"), ("token", &big)], &[]).status, 413);
    let json = serve.send("POST", "/ui/login", &[("Content-Type", "application/json")], Some(b"{}"));
    assert_eq!(json.status, 415);

    // Logging out needs the CSRF token too; then the cookie is worth nothing.
    assert_eq!(post_form(&serve, "/ui/logout", &[], &[("Cookie", session)]).status, 403);
    assert!(page_as(&serve, session).contains("Log out alice"), "a refused logout leaves the session");
    let csrf = hidden(&page, "csrf");
    assert_eq!(post_form(&serve, "/ui/logout", &[("csrf", &csrf)], &[("Cookie", session)]).status, 303);
    assert!(page_as(&serve, session).contains("action=\"/ui/login\""));

    // Guessing is capped: after 10 wrong tokens in a minute (3 above, 7 here) every login is
    // refused, the right token too, and none is compared.
    for _ in 0..7 {
        assert_eq!(login(&serve, "mallory", "wrong-token-of-some-length").expect_err("refused").status, 401);
    }
    let capped = login(&serve, "alice", UI_TOKEN).expect_err("capped");
    assert_eq!(capped.status, 429, "{}", capped.text());
    assert!(capped.text().contains("Too many failed logins"), "{}", capped.text());
}

#[test]
fn actions_without_the_session_s_csrf_token_are_refused_and_write_nothing() {
    let world = World::seeded();
    let serve = serve_ui(&world);
    conflict(&world, &serve);
    let cookie = login(&serve, "alice", UI_TOKEN).expect("login");
    let page = page_as(&serve, &cookie);
    let pinned = take_form(&page);
    let head = world.head();
    let syncs = serve.syncs();

    let without_csrf: Vec<(&str, String)> = pinned.iter().filter(|(k, _)| *k != "csrf").cloned().collect();
    let wrong_csrf: Vec<(&str, String)> =
        pinned.iter().map(|(k, v)| (*k, if *k == "csrf" { "0".repeat(64) } else { v.clone() })).collect();
    let origin = ("Origin", "http://evil.example");
    let with_cookie = vec![("Cookie", cookie.as_str())];
    let cases = [
        ("no CSRF token", &without_csrf, with_cookie.clone()),
        ("a wrong CSRF token", &wrong_csrf, with_cookie.clone()),
        ("no session cookie", &pinned, vec![]),
        ("another origin", &pinned, vec![("Cookie", cookie.as_str()), origin]),
    ];
    for (what, form, headers) in cases {
        let response = post_form(&serve, "/ui/resolve", &fields(form, "hnp"), &headers);
        assert_eq!(response.status, 403, "{what}: {}", response.text());
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(world.head(), head, "nothing committed");
    assert_eq!(serve.syncs(), syncs, "no sync ran");
    assert!(world.file(&managed("vpcs", "vpc-a")).expect("file").contains("vlan: 1999"));
    assert!(!serve.log().contains("ui: resolution asked for"), "{}", serve.log());

    // The same form with its token (and this server's origin) does settle it.
    let this = ("Origin", serve.url.as_str());
    let response = post_form(&serve, "/ui/resolve", &fields(&pinned, "hnp"), &[("Cookie", &cookie), this]);
    assert_eq!((response.status, response.header("location")), (303, Some("/ui")), "{}", response.text());
    assert!(world.file(&managed("vpcs", "vpc-a")).expect("file").contains("vlan: 2001"), "{}", serve.log());
    let page = page_as(&serve, &cookie);
    assert!(page.contains("Took HNP for fabrics/dc1/gitops/managed/vpcs/vpc-a.yaml: commit"), "{page}");
    assert!(page.contains("Open conflicts (0)"), "{page}");
    let log = serve.log();
    let asked = log.lines().find(|l| l.contains("ui: resolution asked for")).expect("the action is logged");
    for part in ["who=alice", "fabric=\"dc1\"", "path=\"fabrics/dc1/gitops/managed/vpcs/vpc-a.yaml\"", "side=\"hnp\""] {
        assert!(asked.contains(part), "{part} missing: {asked}");
    }
    assert!(asked.contains(&pinned.iter().find(|(k, _)| *k == "expect").expect("expect").1), "{asked}");
}

#[test]
fn a_stale_take_hnp_writes_nothing_and_the_page_shows_the_new_blob() {
    let world = World::seeded();
    let serve = serve_ui(&world);
    conflict(&world, &serve);
    let cookie = login(&serve, "bob", UI_TOKEN).expect("login");
    let page = page_as(&serve, &cookie);
    let pinned = take_form(&page);
    let seen = hidden(&page, "expect");
    assert_eq!(seen, world.blob(&managed("vpcs", "vpc-a")).expect("on main"), "the button is pinned to Git's blob");

    // Git changes again after the page was rendered (no GitHub webhook: the page is stale).
    let newer = edit_in_git(&world, 1999, 1888);
    let fresh = world.blob(&managed("vpcs", "vpc-a")).expect("on main");
    assert_ne!(fresh, seen);
    let response = post_form(&serve, "/ui/resolve", &fields(&pinned, "hnp"), &[("Cookie", &cookie)]);
    assert_eq!(response.status, 303, "{}", response.text());

    assert_eq!(world.head(), newer, "nothing committed over the newer edit");
    assert!(world.file(&managed("vpcs", "vpc-a")).expect("file").contains("vlan: 1888"));
    let page = page_as(&serve, &cookie);
    assert!(page.contains("Not applied: Git changed fabrics/dc1/gitops/managed/vpcs/vpc-a.yaml again"), "{page}");
    assert_eq!(hidden(&page, "expect"), fresh, "the buttons are pinned to the new blob");
    assert!(page.contains(&format!("<dt>Git blob</dt><dd><code>{fresh}</code>")), "{page}");
    assert!(!page.contains(&format!("value=\"{seen}\"")), "no button is pinned to the old blob: {page}");
    assert!(page.contains(&format!("it expected blob {seen}, Git now has blob {fresh}")), "the reason: {page}");
    assert!(page.contains("vlan: 1888") && page.contains("vlan: 2001"), "the new diff: {page}");
}

/// Debian's Chromium and its WebDriver, installed when missing: with apt-get as root, else
/// through `sudo -n` (never a prompt); a failure fails the test, it is never skipped.
fn ensure_chromium() {
    let present = || Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    if present() {
        return;
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let apt = |args: &[&str]| {
        let mut cmd = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            // sudo resets the environment: the frontend goes on the command line.
            cmd.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive").output().unwrap_or_else(|e| {
            panic!("Chromium is missing and apt-get could not run ({e}): install chromium and chromium-driver")
        })
    };
    let mut install = apt(&["install", "-y", "chromium", "chromium-driver"]);
    if !install.status.success() {
        apt(&["update"]);
        install = apt(&["install", "-y", "chromium", "chromium-driver"]);
    }
    assert!(
        install.status.success() && present(),
        "installing chromium and chromium-driver failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
}

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Headless Chromium driven over WebDriver (JSON over HTTP): one session, ended on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: TempDir,
}

impl Browser {
    fn start() -> Browser {
        ensure_chromium();
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let ready = || {
            let status = client::send("GET", &format!("{base}/status"), &[], None, Duration::from_secs(5)).ok()?;
            (status.json()["value"]["ready"] == json!(true)).then_some(())
        };
        wait_for("chromedriver", ready);
        let profile = TempDir::new("chromium").expect("profile dir");
        let args = json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        }}});
        let mut browser = Browser { driver, base, session: String::new(), _profile: profile };
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"].as_str().expect("a session id").to_owned();
        browser
    }

    /// One WebDriver command; its `value`, or the driver's error.
    fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(Value::to_string);
        let headers = [("Content-Type", "application/json")];
        let url = format!("{}{path}", self.base);
        let response = client::send(method, &url, &headers, body.as_deref().map(str::as_bytes), WAIT)
            .map_err(|e| format!("WebDriver {method} {path}: {e}"))?;
        let value = response.json()["value"].clone();
        match response.status {
            200 => Ok(value),
            status => Err(format!("WebDriver {method} {path}: {status} {value}")),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body.as_ref()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn try_command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.try_call(method, &format!("/session/{}{path}", self.session), body.as_ref())
    }

    fn go(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let found = self.command("POST", "/element", Some(json!({ "using": "css selector", "value": css })));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    /// The texts of the elements `css` selects now; an error while the page changes under us.
    fn try_texts(&self, css: &str) -> Result<Vec<String>, String> {
        let found = self.try_command("POST", "/elements", Some(json!({ "using": "css selector", "value": css })))?;
        let ids: Vec<String> =
            found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str()).map(str::to_owned).collect();
        ids.iter()
            .map(|id| {
                Ok(self
                    .try_command("GET", &format!("/element/{id}/text"), None)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned())
            })
            .collect()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        self.try_texts(css).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until the page shows `css` with a text that `ready` accepts: a click that submits
    /// a form can return before the browser has the next page.
    fn wait_text(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        wait_for(&format!("{css} on the next page"), || {
            self.try_texts(css).ok().map(|t| t.join("\n")).filter(|t| ready(t))
        })
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.command("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.command("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn text(&self, css: &str) -> String {
        self.texts(css).join("\n")
    }

    /// The first element's `(x, y)` on the page.
    fn rect(&self, css: &str) -> (f64, f64) {
        let rect = self.command("GET", &format!("/element/{}/rect", self.find(css)), None);
        (rect["x"].as_f64().expect("x"), rect["y"].as_f64().expect("y"))
    }

    /// A PNG of the window, saved to `path`.
    fn screenshot(&self, path: &Path) {
        let png = self.command("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("base64")).expect("PNG");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("artifact dir");
        std::fs::write(path, bytes).expect("screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = client::send("DELETE", &url, &[], None, Duration::from_secs(30));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/test-artifacts/`, beside the binary's profile directory.
fn artifacts() -> PathBuf {
    let binary = cli::binary();
    binary.parent().and_then(Path::parent).expect("target dir").join("test-artifacts")
}

#[test]
fn a_browser_settles_a_conflict_with_take_hnp() {
    let world = World::seeded();
    let serve = serve_ui(&world);
    let id = conflict(&world, &serve);
    let path = managed("vpcs", "vpc-a");
    // The NetBox half: the CR says it is in conflict.
    let line = wait_for("sync_error on the CR", || world.hnp.sync_error("VPC", id).filter(|s| !s.is_empty()));
    assert!(line.starts_with("conflict: changed in Git"), "{line}");
    let git_blob = world.blob(&path).expect("on main");
    let before = world.head();

    let browser = Browser::start();
    let started = Instant::now();
    browser.go(&format!("{}/ui", serve.url));
    browser.type_into("input[name=name]", "carol");
    browser.type_into("input[name=token]", UI_TOKEN);
    browser.click("form.login button");
    browser.wait_text("p.flash", |t| t.contains("Logged in as carol."));
    let logged_in = started.elapsed();

    let card = browser.text("article.conflict");
    assert!(card.contains(&path) && card.contains(&git_blob), "{card}: {}", browser.command("GET", "/source", None));
    assert!(card.contains("modified-in-git"), "{card}");
    let trimmed = |css: &str| browser.texts(css).iter().map(|t| t.trim().to_owned()).collect::<Vec<_>>();
    assert_eq!(trimmed("td.del"), ["vlan: 1999"], "Git's side of the diff");
    assert_eq!(trimmed("td.add"), ["vlan: 2001"], "HNP's side of the diff");
    let shot = artifacts().join("ui-conflict.png");
    browser.screenshot(&shot);
    // On a phone-sized window the diff is one column: Git's line above HNP's.
    browser.command("POST", "/window/rect", Some(json!({ "width": 420, "height": 1600 })));
    let (git, hnp) = (browser.rect("td.del"), browser.rect("td.add"));
    assert!(hnp.1 > git.1 && (hnp.0 - git.0).abs() < 1.0, "not one column: Git at {git:?}, HNP at {hnp:?}");
    browser.screenshot(&artifacts().join("ui-conflict-phone.png"));
    browser.command("POST", "/window/rect", Some(json!({ "width": 1280, "height": 1600 })));

    let clicked = Instant::now();
    browser.click("article.conflict button[value=hnp]");
    let flash = browser.wait_text("p.flash", |t| !t.is_empty() && !t.contains("Logged in as carol."));
    let settled = clicked.elapsed();
    assert!(flash.starts_with(&format!("Took HNP for {path}: commit")), "{flash}\n{}", serve.log());
    assert!(browser.text("h2").contains("Open conflicts (0)"));
    browser.screenshot(&artifacts().join("ui-settled.png"));

    // Git holds HNP's version in a new commit, and the CR's sync_error is cleared.
    let head = world.head();
    assert_ne!(head, before);
    assert!(world.gh.repo().is_ancestor(&before, &head));
    assert!(world.file(&path).expect("file").contains("vlan: 2001"));
    let changed = world.gh.repo().git(&["show", "--name-only", "--format=", &head]).expect("git show");
    assert!(changed.lines().any(|l| l == path), "{changed}");
    world.gh.repo().fsck().expect("fsck");
    wait_for("sync_error cleared", || world.hnp.sync_error("VPC", id).filter(|s| s.is_empty()));
    println!(
        "figure: browser: login to dashboard {:.0} ms; Take HNP click to settled page {:.0} ms; screenshots in {}",
        logged_in.as_secs_f64() * 1000.0,
        settled.as_secs_f64() * 1000.0,
        shot.parent().expect("dir").display()
    );
}
