//! `[alb]` tables: a bad one is exit 2 with one error naming the file, the
//! line and column, the key and the value, before any AWS call; a good one
//! is read by every command (in a `[[functions]]` entry too).

use crate::harness::{Project, default_config};

const ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012";

/// A good `[alb]` table on a listener.
fn table() -> String {
    format!(
        "[alb]\nlistener_arn = \"{ARN}:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2\"\n\n\
         [alb.blue]\ntarget_group_arn = \"{ARN}:targetgroup/orders-blue/73e2d6bc24d8a067\"\nalias = \"blue\"\n\n\
         [alb.green]\ntarget_group_arn = \"{ARN}:targetgroup/orders-green/2453ed029918f21f\"\nalias = \"green\"\n"
    )
}

/// The line (from 1) of the `nth` (from 1) line of `text` that starts
/// with `start`.
#[track_caller]
fn line_of(text: &str, start: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(start))
        .nth(nth - 1)
        .unwrap_or_else(|| panic!("no line {nth} starting with {start:?}"))
        .0
        + 1
}

#[test]
fn every_bad_alb_table_is_exit_2_naming_line_key_and_value_and_calls_nothing() {
    let p = Project::new();
    let base = format!("{}\n{}", default_config(), table());
    let swap = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replace(from, to)
    };
    // `[alb] metrics` = `list`, after the listener.
    let gates = |list: &str| {
        swap(
            "f2f7dc8efc522ab2\"\n",
            &format!("f2f7dc8efc522ab2\"\nmetrics = [\n  {list},\n]\n"),
        )
    };
    let dns = "\n[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n";
    // (config, the line at fault: its start and which of those lines, what
    // the error says)
    let cases: Vec<(String, (&str, usize), &str)> = vec![
        (
            swap("listener_arn = ", "# listener_arn = "),
            ("[alb]", 1),
            "`alb` = (neither listener_arn nor rule_arn): give listener_arn",
        ),
        (
            swap("/app/orders/", "/net/orders/"),
            ("listener_arn", 1),
            "`alb.listener_arn` = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/orders/50dc6c495c0c9188/f2f7dc8efc522ab2\": give an Application Load Balancer's ARN",
        ),
        (
            swap("listener_arn = ", "rule_arn = "),
            ("rule_arn", 1),
            "`alb.rule_arn` = ",
        ),
        (
            swap(
                "orders-green/2453ed029918f21f",
                "orders-blue/73e2d6bc24d8a067",
            ),
            ("target_group_arn", 2),
            "`alb.green.target_group_arn` = \"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-blue/73e2d6bc24d8a067\": each colour needs its own target group (blue's is the same)",
        ),
        (
            swap("alias = \"green\"", "alias = \"blue\""),
            ("alias", 2),
            "`alb.green.alias` = \"blue\": each colour needs its own alias (blue's is the same)",
        ),
        (
            swap("alias = \"blue\"", "alias = \"live\""),
            ("alias", 1),
            "`alb.blue.alias` = \"live\": it is also function.alias, the alias users reach without the load balancer",
        ),
        (
            format!("{base}\n[release]\ncandidate = \"green\"\n"),
            ("alias", 2),
            "`alb.green.alias` = \"green\": it is also release.candidate",
        ),
        (
            swap(
                "us-east-1:123456789012:targetgroup/orders-green",
                "eu-west-1:123456789012:targetgroup/orders-green",
            ),
            ("target_group_arn", 2),
            "the target group is in account 123456789012 and region eu-west-1, the load balancer in account 123456789012 and region us-east-1",
        ),
        (
            format!("{base}{dns}"),
            ("[alb]", 1),
            "`alb` = (a table): a release moves traffic in one place: give [alb] or [dns], not both",
        ),
        (
            gates("{ name = \"target-5xx\", max = 0.01 }"),
            ("  {", 1),
            "`alb.metrics[0].name` = \"target-5xx\": use target-5xx-rate, lambda-user-error-rate, lambda-internal-error-rate or target-p99",
        ),
        (
            gates("{ name = \"error-rate\", max = 0.01 }"),
            ("  {", 1),
            "`alb.metrics[0].name` = \"error-rate\": use target-5xx-rate,",
        ),
        (
            gates("{ name = \"target-5xx-rate\", max = 1.5 }"),
            ("  {", 1),
            "`alb.metrics[0].max` = 1.5: an error rate is a fraction from 0 to 1",
        ),
        (
            gates("{ name = \"target-p99\", max = 800 }"),
            ("  {", 1),
            "`alb.metrics[0].max` = 800: a duration such as \"800ms\" or \"2s\"",
        ),
        (
            gates(
                "{ name = \"target-p99\", max = \"1s\" },\n  { name = \"target-p99\", margin = \"100ms\" }",
            ),
            ("  { name", 2),
            "`alb.metrics[1].name` = \"target-p99\": listed twice",
        ),
        (
            gates("{ name = \"lambda-internal-error-rate\" }"),
            ("  {", 1),
            "`alb.metrics[0].name` = \"lambda-internal-error-rate\": give `max` (a ceiling), `margin`",
        ),
        (
            swap("alias = \"green\"", "alias = \"green\"\nweight = 10"),
            ("weight", 1),
            "unknown field `weight`, expected `target_group_arn` or `alias` (key `alb.green.weight`)",
        ),
    ];
    for (config, at_fault, says) in cases {
        p.write("greenlight.toml", &config);
        let line = line_of(&config, at_fault.0, at_fault.1);
        let before = p.emulator.requests().len();
        let run = p.run(&["ship"]).code(2);
        let error = run.stderr.lines().next().unwrap_or_default();
        assert!(
            error.starts_with(&format!("error: greenlight.toml:{line}:")),
            "line {line} expected:\n{}",
            run.stderr
        );
        assert!(
            error.contains(says),
            "{says:?} expected in:\n{}",
            run.stderr
        );
        assert!(run.stderr.lines().count() <= 2, "short:\n{}", run.stderr);
        assert_eq!(
            p.emulator.requests().len(),
            before,
            "no AWS call at all: {says}"
        );
    }
    assert!(p.functions().is_empty(), "nothing created");
}

#[test]
fn a_good_alb_table_is_read_alone_or_in_a_functions_entry_and_never_shared() {
    let p = Project::with_config(&format!("{}\n{}", default_config(), table()));
    p.run(&["package"]).success();

    let entry_alb = table()
        .replace("[alb]\n", "alb = { ")
        .replace("\"\n\n[alb.blue]\n", "\", blue = { ")
        .replace(
            "\"\nalias = \"blue\"\n\n[alb.green]\n",
            "\", alias = \"blue\" }, green = { ",
        )
        .replace("\"\nalias = \"green\"\n", "\", alias = \"green\" } }")
        .replace("\"\ntarget_group_arn", "\", target_group_arn");
    assert!(!entry_alb.contains('\n'), "{entry_alb}");
    let fleet = |a: &str| {
        format!(
            "[package]\nsource = \"app\"\n\n[[functions]]\nname = \"a\"\n{a}\n\n[[functions]]\nname = \"b\"\n"
        )
    };
    p.write("greenlight.toml", &fleet(&entry_alb));
    p.run(&["package"]).success();

    p.write("greenlight.toml", &format!("{}\n{}", fleet(""), table()));
    let before = p.emulator.requests().len();
    let run = p.run(&["status"]).code(2);
    assert!(
        run.stderr.starts_with(&format!(
            "error: greenlight.toml: functions a and b both release through {ARN}:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2: one function's rollback would move the other's users"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(p.emulator.requests().len(), before, "no AWS call at all");
}
