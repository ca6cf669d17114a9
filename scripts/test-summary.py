#!/usr/bin/env python3
"""Reads the TRX files of one test run and prints the totals, each test class's skips once per reason, and every failure.

Prints one closing line 'N passed, N failed, N skipped' and exits 1 when anything failed or nothing ran."""
import glob
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def main(results_dir: str) -> int:
    passed = failed = skipped = 0
    skips, failed_lines = {}, []
    files = glob.glob(f"{results_dir}/**/*.trx", recursive=True)
    for path in files:
        root = ET.parse(path).getroot()
        for result in root.iterfind(".//t:UnitTestResult", NS):
            outcome = result.get("outcome")
            name = result.get("testName")
            if outcome == "Passed":
                passed += 1
            elif outcome == "NotExecuted":
                skipped += 1
                reason = result.findtext(".//t:Output/t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
                reason = reason or result.findtext(".//t:Output/t:StdOut", default="", namespaces=NS).strip()
                test_class = name.split("(")[0].rsplit(".", 1)[0]
                skips.setdefault((test_class, reason or "no reason given"), []).append(name)
            else:
                failed += 1
                message = result.findtext(".//t:Output/t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
                failed_lines.append(f"  FAILED  {name}: {message.splitlines()[0] if message else outcome}")
    skipped_lines = [f"  SKIPPED {test_class} ({len(names)} test{'s' if len(names) > 1 else ''}): {reason}"
                     for (test_class, reason), names in sorted(skips.items())]
    for line in skipped_lines + failed_lines:
        print(line)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if not files or passed + failed == 0:
        print("no test ran", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out/test-results"))
