#!/usr/bin/env python3
"""Every chapter's main() has the one shape chapters/README.md shows.

The recipe's block between <!-- main-shape --> and <!-- /main-shape --> is the shape, written
with the namespace `topic`.  Each chapters/NN-*/main.cpp, its comments and #include lines left
out and its namespace read as `topic`, must be that text (whitespace aside: clang-format may
wrap a long line).  The namespace is the chapter's folder name without its number, '-' as '_'
(one exception, named in the recipe: 04-shutdown's graceful_shutdown).

usage: main_shape.py REPO_ROOT
"""
import pathlib
import re
import sys

# A folder whose namespace cannot be its name, and why (also in chapters/README.md).
NAMESPACE_EXCEPTIONS = {"04-shutdown": "graceful_shutdown"}  # `shutdown` is a POSIX function


def normalise(code):
    code = re.sub(r"//[^\n]*", "", code)
    code = re.sub(r"^\s*#include[^\n]*$", "", code, flags=re.M)
    return " ".join(code.split())


def shape_from_recipe(recipe):
    m = re.search(r"<!-- main-shape -->\s*```cpp\n(.*?)```\s*<!-- /main-shape -->", recipe, re.S)
    if not m:
        sys.exit(f"main-shape: no <!-- main-shape --> block in the recipe")
    return normalise(m.group(1))


def main():
    root = pathlib.Path(sys.argv[1])
    shape = shape_from_recipe((root / "chapters" / "README.md").read_text())
    folders = sorted(p for p in (root / "chapters").iterdir() if p.is_dir() and re.match(r"\d\d-", p.name))
    if not folders:
        sys.exit("main-shape: no chapters/NN-* folder found")
    failed = []
    for folder in folders:
        main_cpp = folder / "main.cpp"
        if not main_cpp.exists():
            failed.append((folder.name, "has no main.cpp"))
            continue
        text = main_cpp.read_text()
        m = re.search(r"\b(\w+)::Params params;", text)
        namespace = m.group(1) if m else None
        wanted = NAMESPACE_EXCEPTIONS.get(folder.name, folder.name[3:].replace("-", "_"))
        if namespace != wanted:
            failed.append((folder.name, f"namespace {namespace!r}, not {wanted!r}"))
            continue
        body = normalise(re.sub(rf"\b{namespace}::", "topic::", text))
        if body != shape:
            # Say where the two part, in words a reader can find in the file.
            common = 0
            while common < min(len(body), len(shape)) and body[common] == shape[common]:
                common += 1
            failed.append((folder.name, f"differs from the recipe at ...{body[max(0, common - 40):common + 60]!r}..."
                           f" (the recipe has ...{shape[max(0, common - 40):common + 60]!r}...)"))
            continue
        print(f"ok    {folder.name}")
    for name, why in failed:
        print(f"FAIL  {name}: {why}")
    print(f"{len(folders) - len(failed)} of {len(folders)} chapters' main() have the recipe's shape")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
