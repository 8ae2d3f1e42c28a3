"""Train/test n-gram overlap: copies are caught, shared template text is not."""

from slm_math.data.contamination import find_contaminated, ngrams


def test_long_copy_is_caught_and_paraphrase_is_not():
    test = ["Natalia sold clips to 48 of her friends in April, and then she sold half as many "
            "clips in May. How many clips did Natalia sell altogether in April and May?"]
    train = [
        "Yesterday: Natalia sold clips to 48 of her friends in April, and then she sold half as "
        "many clips in May. How many clips did she sell?",
        "Tom bought 3 apples and 4 pears. How many fruits did he buy in total today at the store?",
    ]
    assert find_contaminated(train, test, n=13) == [0]


def test_short_problems_compare_whole_text():
    assert ngrams("Calculate 5 - 3.", 13) == {("calculate", "5", "-", "3", ".")}
    assert find_contaminated(["Calculate 5 - 3.", "Calculate 5 - 4."],
                             ["calculate 5 - 3 ."], n=13) == [0]


def test_template_text_shared_by_many_test_problems_is_ignored():
    stem = "Find the Least Common Multiple (LCM) of these numbers:"
    test = [f"{stem} 12, {k}" for k in range(2, 9)]
    train = [f"{stem} 12, 11", f"{stem} 12, 5"]
    # "12, 11" shares only template grams with the test set; "12, 5" is a copy.
    assert find_contaminated(train, test, n=13) == [1]
