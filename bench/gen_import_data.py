#!/usr/bin/env python3
"""Writes N generated thesis records twice: as JSON Lines (Protobuf JSON
mapping, what `thesisctl import` reads) and as CSV for `psql \\copy` into the
theses table (the baseline of bench/import.sh). Same rows, same columns."""
import csv
import json
import sys


def text_array(values):
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def main():
    n, jsonl_path, csv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(jsonl_path, "w", encoding="utf-8") as jf, open(csv_path, "w", encoding="utf-8", newline="") as cf:
        out = csv.writer(cf)
        for i in range(n):
            r = {
                "titleZh": f"基于深度学习的电子政务数据治理研究第{i}篇",
                "titleEn": f"Research on e-government data governance, part {i}",
                "authors": [f"作者{i % 5000}"],
                "advisors": [f"导师{i % 700}", f"导师{(i + 1) % 700}"],
                "institution": f"大学{i % 300}",
                "discipline": "公共管理",
                "degreeLevel": "DEGREE_LEVEL_DOCTOR" if i % 4 == 0 else "DEGREE_LEVEL_MASTER",
                "degreeYear": 1990 + i % 35,
                "abstractZh": "随着信息时代和信息社会的到来，利用现代的信息和通讯技术进行政府治理变革。" * 4,
                "keywordsZh": ["电子政务", "数据治理", f"主题{i % 97}"],
                "classificationCodes": ["TP311.13" if i % 2 == 0 else "D630"],
                "source": {"database": "CMFD", "recordId": f"bench{i}"},
                "language": "zh",
                "legacyDownloadCount": str(i % 1000),
            }
            jf.write(json.dumps(r, ensure_ascii=False) + "\n")
            level = 3 if i % 4 == 0 else 2
            out.writerow([
                f"b{i:08d}", f"src:CMFD:bench{i}", r["titleZh"], r["titleEn"],
                text_array(r["authors"]), text_array(r["advisors"]), r["institution"],
                r["discipline"], level, r["degreeYear"], r["abstractZh"], "",
                text_array(r["keywordsZh"]), "{}", "", 0, "", text_array(r["classificationCodes"]),
                "CMFD", f"bench{i}", "", "zh", i % 1000, "2026-01-01 00:00:00+00",
                "2026-01-01 00:00:00+00", 1,
            ])


if __name__ == "__main__":
    main()
