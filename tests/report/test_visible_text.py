from harness.report.views import visible_text


def test_bidi_and_zero_width_shown_as_codes():
    assert visible_text("evil \u202etxt.exe\u202c") == "evil <U+202E>txt.exe<U+202C>"
    assert visible_text("zero\u200bwidth\u200d") == "zero<U+200B>width<U+200D>"


def test_control_characters_replaced():
    assert visible_text("a\x00b\x1bc") == "a\ufffdb\ufffdc"


def test_plain_text_unchanged():
    text = "Émoji 🎬 and <tags> stay"
    assert visible_text(text) == text
