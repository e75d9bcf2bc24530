"""Benchmark: letters per second of our letter, one write_pdf() per letter (naive), WeasyPrint's
batched path (every letter laid out by WeasyPrint, as before the direct renderer) and the run's
path (letters/direct.py draws what it can, WeasyPrint lays out the rest), with 1 and 2 workers,
and with --dask on a Dask cluster (local:N, or a scheduler's address), with how many batches each
Dask worker rendered; medians, the system libraries that set the speed (the font subsetter:
HarfBuzz-Subset in C, or fontTools in Python; the HarfBuzz uharfbuzz carries) and the command
that reproduces them.

Reproduce: .venv/bin/python bench/render.py [--letters 240 --repeats 3] [--dask local:2]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import multiprocessing
import os
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from weasyprint import HTML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dunning_batch.letters.batches import batches_of, letter_contexts  # noqa: E402
from dunning_batch.letters.environment import SUBSETTER_NAMES, pdf_environment, subsetter_version  # noqa: E402
from dunning_batch.letters.pool import HELPER_LETTERS, Helpers, render_contexts  # noqa: E402
from dunning_batch.letters.direct import render_direct  # noqa: E402
from dunning_batch.letters.render import RefuseAll, letters_html, render_batch  # noqa: E402
from dunning_batch.letters.templating import TEMPLATES_DIR  # noqa: E402
from dunning_batch.run import run  # noqa: E402
from dunning_batch.synth import write_synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 24)


def libraries() -> str:
    """The libraries that set the speed (and the bytes): WeasyPrint, pydyf, the subsetter in use,
    fontTools (the fallback) and whether libharfbuzz-subset loads."""
    env = pdf_environment()
    used = env["font_subsetter"]
    harfbuzz = (f"harfbuzz-subset {subsetter_version('harfbuzz')}" if used["name"] == "harfbuzz"
                else "harfbuzz-subset absent (apt-get install libharfbuzz-subset0)")
    direct = (f"direct renderer: uharfbuzz {env['direct']['uharfbuzz']} (HarfBuzz {env['direct']['harfbuzz']})"
              if env["direct"] else "direct renderer unavailable")
    return (f"WeasyPrint {env['weasyprint']}, pydyf {env['pydyf']}, {harfbuzz}, fontTools {subsetter_version('fonttools')}; "
            f"fonts subset by {SUBSETTER_NAMES[used['name']]}; {direct}")


def weasyprint_batches(batches, sender, pdf_dir: Path, pool=None) -> None:
    """Every letter laid out by WeasyPrint, in the run's batches; over `pool`'s processes if given."""
    render = functools.partial(render_batch, sender=sender, pdf_dir=pdf_dir, direct=False)
    list(pool.map(render, batches) if pool else map(render, batches))


def naive(contexts, sender, pdf_dir: Path) -> None:
    """One WeasyPrint document and one write_pdf() per letter: what a simple integration does."""
    for letter in contexts:
        HTML(string=letters_html([letter], sender), base_url=str(TEMPLATES_DIR),
             url_fetcher=RefuseAll()).write_pdf(pdf_dir / f"{letter['letter_id']}.pdf")


def direct_parts(contexts, sender, pdf_dir: Path, repeats: int) -> None:
    """CPU milliseconds a letter in each step of the direct renderer (letters/direct.py), medians."""
    from dunning_batch.letters import direct
    from dunning_batch.letters.direct_html import letter_sections
    from dunning_batch.letters.direct_letter import lay_out
    from dunning_batch.letters.direct_pdf import write_pdf
    from dunning_batch.letters.payment_codes import epc_png, scheme

    contexts = [c for c in contexts if direct.render_direct(c, sender, pdf_dir)]   # those drawn directly
    template = direct.letter_template()
    html = [template.render(letter=letter, sender=sender, pages={}) for letter in contexts]
    sections = [letter_sections(text)[0] for text in html]
    plans = [lay_out(section) for section in sections]
    steps = {
        "the EPC code (segno)": lambda: [epc_png(c, sender) for c in contexts if scheme(c, sender) == "epc"],
        "the template, the EPC code included": lambda: [template.render(letter=c, sender=sender, pages={})
                                                        for c in contexts],
        "reading its HTML": lambda: [letter_sections(text) for text in html],
        "the layout": lambda: [lay_out(section) for section in sections],
        "the PDF": lambda: [write_pdf(plan, c["letter_id"], pdf_dir / "x.pdf") for plan, c in zip(plans, contexts)],
    }
    for label, step in steps.items():
        seconds = []
        for _ in range(repeats):
            started = time.process_time()
            step()
            seconds.append(time.process_time() - started)
        print(f"{label:<40} {statistics.median(seconds) / len(contexts) * 1000:6.2f} ms CPU a letter")
    print(f"reproduce: .venv/bin/python bench/render.py --letters {len(contexts)} --repeats {repeats} --parts")


def timed(label: str, fn, count: int, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    rate = count / statistics.median(seconds)
    print(f"{label:<34} {rate:8.1f} letters/s   (median of {repeats}: {statistics.median(seconds):.2f} s)")
    return rate


def timed_on_dask(address: str, contexts, sender, fresh, n: int, repeats: int) -> float:
    """Letters per second of `run --dask`'s render step (distributed.render_on_workers: the same
    batches, mapped over the workers), the workers warmed first as a helper is; prints how many
    batches each worker rendered in the last measurement."""
    from dunning_batch.distributed import close_client, connect_client

    client = connect_client(address)
    try:
        warm = Path(tempfile.mkdtemp(prefix="bench-render-warm-"))
        client.run(render_batch, contexts[:1], sender, warm)  # imports, fonts and templates on every worker
        shutil.rmtree(warm, ignore_errors=True)
        batches = batches_of(contexts, max(1, sum(client.nthreads().values())))
        where: dict[str, int] = {}

        def render() -> None:
            futures = client.map(render_batch, batches, sender=sender, pdf_dir=fresh(), pure=False)
            client.gather(futures)
            where.clear()
            for workers in client.who_has(futures).values():
                for worker in workers:
                    where[worker] = where.get(worker, 0) + 1

        rate = timed(f"dask {address}", render, n, repeats)
        print(f"  batches per worker: {', '.join(f'{w}: {k}' for w, k in sorted(where.items()))} ({len(batches)} batches)")
        return rate
    finally:
        close_client(client, address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=240, help="letters rendered per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per path; the median is printed")
    parser.add_argument("--parts", action="store_true",
                        help="only print where a letter drawn directly spends its CPU, step by step")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="also render on this Dask cluster (local:N, or a scheduler address whose workers see /tmp)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        print(libraries())
        # synth's night gives about one letter per 7 customers (its --letters-share, 0.15)
        write_synthetic(work / "in", customers=args.letters * 10, seed=1, as_of=AS_OF)
        out = work / "out"
        run(ROOT / "config" / "example.toml", work / "in" / "open_items.parquet",
            work / "in" / "customers.parquet", AS_OF, out, pdf=False)
        contexts = letter_contexts(out)[: args.letters]
        sender = __import__("json").loads((out / "run.json").read_text())["sender"]
        n = len(contexts)
        print(f"{n} letters, {sum(len(c['lines']) for c in contexts)} item lines")

        def fresh() -> Path:
            target = work / "pdf"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            return target

        if args.parts:
            direct_parts(contexts, sender, fresh(), args.repeats)
            return
        drawn = sum(1 for letter in contexts if render_direct(letter, sender, fresh()))
        print(f"{drawn} of {n} letters drawn directly, {n - drawn} laid out by WeasyPrint")
        base = timed("naive, one write_pdf per letter", lambda: naive(contexts, sender, fresh()), n, args.repeats)
        weasy = timed("WeasyPrint batched, 1 worker", lambda: weasyprint_batches(batches_of(contexts, 1), sender, fresh()),
                      n, args.repeats)
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(functools.partial(render_batch, sender=sender, pdf_dir=fresh()), [contexts[:1]] * 2))
            weasy_two = timed("WeasyPrint batched, 2 workers", lambda: weasyprint_batches(
                batches_of(contexts, 2), sender, fresh(), pool), n, args.repeats)
        one = timed("direct + WeasyPrint, 1 worker", lambda: render_contexts(contexts, sender, fresh(), 1), n,
                    args.repeats)
        if n < HELPER_LETTERS:
            print(f"note: a render of fewer than {HELPER_LETTERS} letters starts no helper: '2 workers' is 1 here")
        two = timed("direct + WeasyPrint, 2 workers", lambda: render_contexts(contexts, sender, fresh(), 2), n,
                    args.repeats)
        with Helpers(1) as helpers:  # as `run` has them: started early, ready at the render step
            helpers.pool.submit(int).result()
            timed("direct + WeasyPrint, 2 workers, helper ready",
                  lambda: render_contexts(contexts, sender, fresh(), 2, None, helpers), n, args.repeats)
        print(f"WeasyPrint batched vs naive: {weasy / base:.1f}x; direct vs WeasyPrint batched: {one / weasy:.1f}x "
              f"(1 worker), {two / weasy_two:.1f}x (2 workers); 2 workers vs 1: {two / one:.2f}x")
        if args.dask:
            on_dask = timed_on_dask(args.dask, contexts, sender, fresh, n, args.repeats)
            print(f"dask {args.dask} vs 2 local workers: {on_dask / two:.2f}x")
        print(f"reproduce: .venv/bin/python bench/render.py --letters {args.letters} --repeats {args.repeats}"
              f"{f' --dask {args.dask}' if args.dask else ''}"
              f"   ({len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} cores)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
