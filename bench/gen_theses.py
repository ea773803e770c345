#!/usr/bin/env python3
"""Writes N realistic thesis rows as `COPY theses (...) FROM STDIN` input.

Titles, abstracts and keywords come from the real papers in
../shared/data/csl/ (cycled, a record number appended to titles so that no
two are equal); CLC codes are drawn from ../shared/data/clc/clc5.tsv (one
in five written deeper than the table, one in twenty with a second code);
disciplines from the 2022 catalogue; years, degree levels, institutions and
legacy download counts from fixed seeded distributions. Deterministic for a
given N and seed.

  python3 bench/gen_theses.py DATA_DIR N [SEED] | psql ... -c "COPY theses (...) FROM STDIN"

The column list is printed by `--columns`.
"""
import csv
import json
import random
import re
import sys
from pathlib import Path

COLUMNS = ("id, title_zh, authors, advisors, institution, discipline, degree_level, degree_year, "
           "abstract_zh, keywords_zh, classification_codes, legacy_download_count, "
           "create_time, update_time")

INSTITUTIONS = ["兰州大学", "北京大学", "清华大学", "复旦大学", "浙江大学", "南京大学", "武汉大学",
                "中山大学", "四川大学", "吉林大学", "山东大学", "厦门大学", "西北大学", "郑州大学",
                "华中科技大学", "西安交通大学", "哈尔滨工业大学", "中国科学技术大学", "同济大学",
                "湖南大学", "重庆大学", "东北师范大学", "华东师范大学", "南开大学", "天津大学"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
PLAIN = re.compile(r"^[A-Z]+[0-9.]+$")  # codes that can be written one level deeper
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然欣怡子涵思远"


def esc(text):
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def arr(items):
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for i in items) + "}"


def load_sources(data):
    """The real records both generators draw from: the CSL dev papers, the
    CSL training titles, the CLC codes of level 3 or deeper (no ranges,
    alternatives or discontinued classes) and the 2022 disciplines."""
    papers = [json.loads(line) for line in open(data / "csl/csl-dev-1000.jsonl", encoding="utf-8")]
    with open(data / "csl/csl-train-titles-8000.tsv", encoding="utf-8") as f:
        titles = [row[0] for row in csv.reader(f, delimiter="\t")][1:]
    with open(data / "clc/clc5.tsv", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        codes = [row[0] for row in reader if int(row[2]) >= 3 and not row[0].startswith(("[", "{"))
                 and "/" not in row[0]]
    with open(data / "discipline/xueke_2022_level1_and_professional.tsv", encoding="utf-8") as f:
        disciplines = [row[3] for row in csv.reader(f, delimiter="\t")][1:]
    return papers, titles, codes, disciplines


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--columns":
        print(COLUMNS)
        return
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    count = int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)

    papers, titles, codes, disciplines = load_sources(data)

    out = sys.stdout
    for i in range(count):
        paper = papers[i % len(papers)]
        title = (titles[i % len(titles)] if i % 3 else paper["title"]) + f"（{i}）"
        code = rng.choice(codes)
        if rng.random() < 0.2 and PLAIN.match(code):
            code += str(rng.randint(1, 9)) if "." in code or len(code) < 4 else f".{rng.randint(1, 9)}"
        record_codes = [code] if rng.random() >= 0.05 else [code, rng.choice(codes)]
        author = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        advisor = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        level = 3 if rng.random() < 0.2 else (4 if rng.random() < 0.3 else 2)
        year = rng.randint(2000, 2024)
        legacy = str(int(rng.paretovariate(1.2) * 20)) if rng.random() < 0.8 else "\\N"
        stamp = f"2026-01-01 00:00:00+00"
        row = [f"bench-c-{i:07d}", esc(title), arr([author]), arr([advisor]),
               rng.choice(INSTITUTIONS), rng.choice(disciplines), str(level), str(year),
               esc(paper["abstract"]), esc(arr(paper["keywords"])), esc(arr(record_codes)), legacy,
               stamp, stamp]
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
