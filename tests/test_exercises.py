"""The shared feedback of the exercise checks."""

from helpers.exercises import feedback


def test_feedback_reports_and_returns(capsys):
    assert feedback(True, "well done", "try again") is True
    assert capsys.readouterr().out == "Correct: well done\n"
    assert feedback(False, "well done", "look at the shape") is False
    assert capsys.readouterr().out == "Not yet: look at the shape\n"
