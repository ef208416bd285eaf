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


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ __import__('os').system('x')", "cannot read"),
        ("y ~ `rm -rf`", "cannot read '`rm -rf`'"),
        ("y ~ a*b + (1|g)", "cannot read '*b"),
        ("y ~ a:b", "cannot read ':b'"),
        ("y ~ log(a)", "'log ( a )' in 'y ~ log(a)' is not supported"),
        ("y ~ (x | g)", "random slopes are not"),
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
