"""Answer parsers: multiple-choice extraction, yes/no, free-text cleaners, and the registry."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from savbench.metrics import first_line, get_parser, parse_choice_index, parser_names, strip_answer, yes_no

WORDS = [
    "dog", "cat", "guitar", "piano", "river", "mountain", "kitchen", "red", "blue", "car", "train",
    "bird", "singing", "running", "crying", "laughing", "street", "forest", "beach", "violin",
    "engine", "rain", "thunder", "baby", "woman", "man", "child", "crowd", "drum", "bell",
]  # fmt: skip


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


# options as they look in real tasks: a few content words, often after an article
option_texts = st.tuples(
    st.sampled_from(["", "a ", "the ", "A ", "The "]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
).map("".join)
choice_lists = st.lists(
    option_texts,
    min_size=2,
    max_size=6,
    unique_by=_fold,
)

LETTER_TEMPLATES = [
    "{L}",
    "({L})",
    "{L}.",
    "({l})",
    "Answer: {L}",
    "The answer is {l})",
    "The correct answer is ({L}).",
    "**{L}**",
    "{L}. {text}",
    "({L}) {text}",
    "{L}: {text}",
    "Answer: ({L}) {text}",
    "Option {L}",
]
TEXT_TEMPLATES = ["{text}", "{Text}.", "Answer: {text}", '"{text}"', "The answer is {text}."]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(choices=choice_lists, data=st.data())
def test_letter_and_text_templates_round_trip(choices, data):
    index = data.draw(st.integers(0, len(choices) - 1))
    template = data.draw(st.sampled_from(LETTER_TEMPLATES + TEXT_TEMPLATES))
    letter = string.ascii_uppercase[index]
    text = choices[index]
    output = template.format(L=letter, l=letter.lower(), text=text, Text=text.capitalize())
    assert parse_choice_index(output, choices) == index, output


@settings(max_examples=80, deadline=None, derandomize=True)
@given(choices=choice_lists, data=st.data())
def test_option_numbers_round_trip(choices, data):
    index = data.draw(st.integers(0, len(choices) - 1))
    template = data.draw(
        st.sampled_from(["{n}", "({n})", "{n}.", "Answer: {n}", "Option {n}", "{n}. {text}"])
    )
    output = template.format(n=index + 1, text=choices[index])
    assert parse_choice_index(output, choices) == index, output


@settings(max_examples=80, deadline=None, derandomize=True)
@given(choices=choice_lists, data=st.data())
def test_contained_option_text_round_trips(choices, data):
    index = data.draw(st.integers(0, len(choices) - 1))
    text = choices[index]
    # only when no other option's text also occurs in the sentence (that is ambiguous by design)
    others = [c for i, c in enumerate(choices) if i != index and f" {c} " in f" {text} "]
    output = f"I think it is {text} in this clip."
    if not others:
        assert parse_choice_index(output, choices) == index


def test_article_a_is_not_option_a():
    assert parse_choice_index("A dog is barking loudly.", ["cat", "dog"]) == 1
    assert parse_choice_index("the answer is a dog", ["cat", "dog"]) == 1
    assert parse_choice_index("A man plays an instrument", ["cat", "dog"]) is None


def test_exact_option_text_beats_letters():
    choices = ["A woman is singing", "A man is playing guitar"]
    assert parse_choice_index("A man is playing guitar.", choices) == 1
    assert parse_choice_index("B", choices) == 1


def test_ambiguous_outputs_give_none():
    assert parse_choice_index("(A) or (B)", ["cat", "dog"]) is None
    assert parse_choice_index("Both the cat and the dog", ["cat", "dog"]) is None
    assert parse_choice_index("", ["cat", "dog"]) is None
    assert parse_choice_index("I don't know", ["cat", "dog"]) is None
    assert parse_choice_index("E", ["cat", "dog"]) is None  # out of range
    assert parse_choice_index("B", []) is None


def test_longest_contained_option_wins():
    assert parse_choice_index("It is a hot dog stand", ["dog", "hot dog"]) == 1


def test_numeric_options_are_matched_as_text():
    assert parse_choice_index("3", ["2", "3", "4"]) == 1
    assert parse_choice_index("There are 4 people", ["2", "3", "4"]) == 2


def test_close_match():
    assert (
        parse_choice_index("the man is playing a guitars", ["a woman singing", "the man is playing a guitar"])
        == 1
    )


def test_mc_choice_returns_option_text_and_reference_form():
    parser = get_parser("mc_choice")
    assert parser("Answer: B", ["cat", "dog"]) == "dog"
    assert parser.reference("Dog", ["cat", "dog"]) == "dog"
    assert parser.reference("B", ["cat", "dog"]) == "dog"
    assert parser.reference("horse", ["cat", "dog"]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.", "yes"),
        ("no,", "no"),
        ("Yes, the audio matches the video.", "yes"),
        ("No, there is no dog.", "no"),
        ("No. Yes would be wrong.", "no"),  # the first word decides
        ("The answer is yes", "yes"),
        ("There is no match", "no"),
        ("It is not a yes or no question", None),  # both, neither first: ambiguous
        ("Probably", None),
        ("", None),
        ("Yesterday I nodded", None),  # whole words only
    ],
)
def test_yes_no(text, expected):
    assert yes_no(text) == expected


filler = st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    word=st.sampled_from(["yes", "no", "Yes", "No", "YES"]),
    rest=filler,
    sep=st.sampled_from([", ", ". ", " ", "! "]),
)
def test_yes_no_leading_word_decides(word, rest, sep):
    assert yes_no(word + sep + rest) == word.lower()
    assert yes_no(rest + " " + word) == word.lower()


def test_free_text_cleaners():
    assert strip_answer("  hi \n") == "hi"
    assert strip_answer(" \n ") is None
    assert first_line("\n\n  first \nsecond") == "first"
    assert first_line("   ") is None
    assert get_parser("none")(" x ") == " x "


def test_registry():
    assert {"mc_choice", "yes_no", "strip", "first_line", "none"} <= set(parser_names())
    with pytest.raises(ValueError, match="unknown parser 'mc'"):
        get_parser("mc")


HOSTILE_OUTPUTS = ["</script><script>alert(1)</script>", "\x00\x1b[31m", "| md | table |", "=cmd()", "(A) (B)",
                   "Answer: " * 50, "\u2028\x85\ud800", "A" * 5000, "\n" * 100, "**(Z)**"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.text() | st.sampled_from(HOSTILE_OUTPUTS),
    choices=st.lists(st.text(max_size=10) | st.sampled_from(WORDS), max_size=30),
)
def test_any_output_parses_to_a_valid_answer_or_none(text, choices):
    index = parse_choice_index(text, choices)
    assert index is None or 0 <= index < len(choices)
    assert get_parser("mc_choice")(text, choices) in (*choices, None)
    assert yes_no(text) in ("yes", "no", None)
    for name in parser_names():
        answer = get_parser(name)(text, choices)
        assert answer is None or isinstance(answer, str)
