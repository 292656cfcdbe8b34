"""names.json is the one list of stages and checks: every name the harness reports is in it."""
import ast
import os
import unittest

from harness import names

HARNESS = os.path.dirname(os.path.abspath(names.__file__))
# Calls whose first argument is a check name, and those whose first argument is a stage name.
CHECK_CALLS = {"check", "reject", "defer", "_defer"}
STAGE_CALLS = {"on_stage", "_enter"}


def literal_first_arguments(calls):
    """(module, line, text) of every call to one of `calls` whose first argument is a string literal."""
    found = []
    for module in sorted(os.listdir(HARNESS)):
        if not module.endswith(".py"):
            continue
        with open(os.path.join(HARNESS, module), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            first = node.args[0]
            if name in calls and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((module, node.lineno, first.value))
            if name in calls and isinstance(first, ast.IfExp):  # on_stage("build" if active else "compile")
                for branch in (first.body, first.orelse):
                    if isinstance(branch, ast.Constant):
                        found.append((module, node.lineno, branch.value))
    return found


class NamesTest(unittest.TestCase):
    def test_every_check_the_harness_reports_is_listed(self):
        used = literal_first_arguments(CHECK_CALLS)
        self.assertGreater(len({text for _, _, text in used}), 10, "the scan found the checks")
        for module, line, text in used:
            self.assertIn(text, names.CHECKS, f"{module}:{line} reports check '{text}', not in names.json")

    def test_every_listed_check_is_reported_somewhere(self):
        used = {text for _, _, text in literal_first_arguments(CHECK_CALLS)}
        self.assertEqual([], [c for c in names.CHECKS if c not in used], "listed checks no code reports")

    def test_every_stage_the_harness_enters_is_listed(self):
        used = literal_first_arguments(STAGE_CALLS)
        self.assertGreater(len(used), 5, "the scan found the stages")
        for module, line, text in used:
            self.assertIn(text, names.STAGES, f"{module}:{line} enters stage '{text}', not in names.json")

    def test_an_unknown_name_is_a_harness_bug(self):
        with self.assertRaises(ValueError):
            names.stage("timming")
        with self.assertRaises(ValueError):
            names.check("timer-integrity")
        self.assertEqual("timing", names.stage("timing"))

    def test_device_stages_are_stages(self):
        self.assertEqual(["load", "correctness", "anticheat", "timing"], names.DEVICE_STAGES)


if __name__ == "__main__":
    unittest.main()
