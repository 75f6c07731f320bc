"""A list of named checks for the Python tests: each prints `ok` or `FAIL` and its sentence, and
the test exits 1 when any failed (with how many), so one run reports every problem at once."""


class Checklist:
    def __init__(self):
        self.problems = []

    def expect(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.problems.append(what)

    def exit_code(self):
        print(f"{len(self.problems)} problems")
        return 1 if self.problems else 0
