import pytest

from sessionmlm.formula import FormulaError, parse_formula


def test_nested_random_intercepts_and_predictors():
    spec = parse_formula(
        "homework ~ caregiver_present + child_age + licensed + ebp + (1 | therapist/client)", "full"
    )
    assert spec.outcome == "homework"
    assert spec.predictors == ("caregiver_present", "child_age", "licensed", "ebp")
    assert spec.groups == ("therapist", "client")
    assert spec.columns == ("homework", "caregiver_present", "child_age", "licensed", "ebp",
                            "therapist", "client")  # fmt: skip


def test_separate_random_intercepts_and_explicit_intercept():
    spec = parse_formula("y ~ 1 + (1|therapist) + (1|client)")
    assert spec.predictors == () and spec.groups == ("therapist", "client")


def test_interactions_in_lme4_syntax():
    spec = parse_formula("y ~ a*b + c + c:a:b + (1 | t/c2)")
    assert spec.predictors == ("a", "b", "c")
    assert spec.interactions == (("a", "b"), ("c", "a", "b"))


def test_random_slopes_on_one_grouping_factor():
    spec = parse_formula("y ~ x + z + (1 + x + z | therapist) + (1 | client)")
    assert spec.groups == ("therapist", "client")
    assert spec.slopes == (("therapist", ("x", "z")),)
    # (x | g) is (1 + x | g), as in lme4
    assert parse_formula("y ~ x + (x | g)").slopes == (("g", ("x",)),)


def test_four_levels_and_unit_keys():
    spec = parse_formula("y ~ x + (1 | program/therapist/client)")
    assert spec.groups == ("program", "therapist", "client")
    assert spec.keys() == (("program",), ("program", "therapist"),
                           ("program", "therapist", "client"))  # fmt: skip
    assert not spec.crossed


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ __import__('os').system('x')", "cannot read"),
        ("y ~ `rm -rf`", "cannot read '`rm -rf`'"),
        ("y ~ a:b + (1|g)", "'a', 'b' appear(s) in an interaction"),
        ("y ~ a*b*c + (1|g)", "mixing ':' and '*'"),
        ("y ~ a + a:b*c + (1|g)", "mixing ':' and '*'"),
        ("y ~ a + a:a + (1|g)", "repeats a predictor"),
        ("y ~ a*b + b:a + (1|g)", "interaction 'b:a' appears twice"),
        ("y ~ log(a)", "'log ( a )' in 'y ~ log(a)' is not supported"),
        ("y ~ (x | g)", "'x' appear(s) in an interaction or a random slope"),
        ("y ~ x + (1 + x | t/c)", "random slopes go on one grouping factor"),
        ("y ~ x + (0 + x | t)", "start with the intercept"),
        ("y ~ x + (1 + x + | t)", "end with '+'"),
        ("y ~ x + (1 + x + x | t)", "repeats a random slope"),
        ("y ~ x + (1 x | t)", "cannot read the random slopes"),
        ("y ~ a + + b", "empty term"),
        ("y ~ (1 | a/)", "ends with '/'"),
        ("y ~ 0 + a", "without an intercept"),
        ("y ~ a + a", "term 'a' appears twice"),
        ("y ~ a + (1|a)", "both a predictor and a grouping factor"),
        ("y + z ~ a", "must be one outcome column"),
        ("y", "exactly one '~'"),
        ("y ~ ((1|g)", "unbalanced '('"),
    ],
)
def test_refused_formulas_say_why(formula, message):
    with pytest.raises(FormulaError, match=None) as error:
        parse_formula(formula)
    assert message in str(error.value)
