"""Fixture: runs tests of CPython's own test suite with unittest and reports each test's outcome.

The plugin org.test.stdlib exports run() from here (stdlibplugin.py), and the same file is the
script that runs them in the plain interpreter
(`python3 -I -S stdlibrunner.py OUTPUT.json test.test_json [NAME...]`),
so that both sides load, run and count the tests alike.
"""
import gc
import importlib
import json
import sys
import time
import traceback
import unittest

# A report shows where and why a test failed: the innermost frames and the exception, without
# the column markers (^^^) that 3.13 draws under each line.
TRACEBACK_FRAMES = 4
TRACEBACK_CHARS = 2000


def _short_traceback(error):
    kind, value, tb = error
    formatted = traceback.format_exception(kind, value, tb, limit=-TRACEBACK_FRAMES)
    lines = "".join(formatted).rstrip().splitlines()
    text = "\n".join(line for line in lines if line.strip(" ^~"))
    return text[-TRACEBACK_CHARS:]


class _OutcomeResult(unittest.TestResult):
    """Keeps one outcome per test id: ["passed" | "failed" | "error" | "skipped" |
    "expected failure" | "unexpected success", detail].

    A failing subtest marks its test failed (unittest reports no success for it then).
    Errors and skips outside a test (setUpClass, setUpModule) keep the id unittest gives
    them, e.g. "setUpClass (test.test_x.Case)".
    """

    def __init__(self):
        super().__init__()
        self.outcomes = {}

    def _set(self, test, outcome, detail=""):
        test_id = test.id()
        if isinstance(test, getattr(unittest.loader, "_FailedTest", ())):
            # A module a package's load_tests() could not import: named as run() names its own.
            test_id = "import " + test._testMethodName
        previous = self.outcomes.get(test_id)
        if previous and previous[0] in ("failed", "error"):
            return  # the first failure of a test is the one worth reading
        self.outcomes[test_id] = [outcome, detail]

    def stopTest(self, test):
        super().stopTest(test)
        outcome = self.outcomes.get(test.id(), [""])[0]
        if outcome in ("failed", "error"):
            # What a failed test left behind (unclosed sockets, transports) is collected now,
            # so that the ResourceWarnings it raises are not counted against the next test.
            gc.collect()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "failed", _short_traceback(err))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", _short_traceback(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, "skipped", str(reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, "expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "failed" if issubclass(err[0], test.failureException) else "error"
            self._set(test, outcome, subtest.id() + "\n" + _short_traceback(err))


class _ImportFailure:
    """Stands for the tests of a module that could not be imported, or skipped itself."""

    failureException = AssertionError

    def __init__(self, module):
        self.module = module

    def id(self):
        return "import " + self.module

    def __str__(self):
        return self.id()


def _load(loader, name, result):
    """Imports the module `name` is in (itself, or the one holding a class or test of that name),
    then loads its tests. A module that fails to import, whatever it raises, is reported as the
    outcome "import <module>" and the other names still run."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        try:
            importlib.import_module(module)
            break
        except ModuleNotFoundError as error:
            if error.name != module or end == 1:
                result.addError(_ImportFailure(module), sys.exc_info())
                return None
        except unittest.SkipTest as skip:
            result.addSkip(_ImportFailure(module), str(skip))
            return None
        except Exception:
            result.addError(_ImportFailure(module), sys.exc_info())
            return None
    return loader.loadTestsFromName(name)


def run(names):
    """Runs the tests named (modules, classes or single tests, such as "test.test_json" or
    "test.test_pickle.CPicklerTests") and returns the counts and each test's outcome."""
    from test import support

    # As regrtest without -u: resources such as network, cpu and largefile are denied, so
    # network tests stay on the loopback interface and the run stays short.
    support.use_resources = []
    support.verbose = 0

    started = time.monotonic()
    result = _OutcomeResult()
    suite = unittest.TestSuite()
    for name in names:
        tests = _load(unittest.defaultTestLoader, name, result)
        if tests is not None:
            suite.addTest(tests)
    suite.run(result)
    return {
        "names": list(names),
        "run": result.testsRun,
        "failures": len(result.failures),
        "errors": len(result.errors),
        "skipped": len(result.skipped),
        "seconds": round(time.monotonic() - started, 3),
        "outcomes": result.outcomes,
    }


if __name__ == "__main__":
    # The report goes to a file: a test may write to the process's stdout.
    output, *test_names = sys.argv[1:]
    report = run(test_names)
    with open(output, "w", encoding="utf-8") as file:
        json.dump(report, file)
