"""KB search over 10,000 articles: p50/p95 per language and kind of query, on either database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kb_bench \\
        .venv/bin/python bench/kb_search.py [--articles 10000] [--runs 200]
    DATABASE_URL=sqlite:////tmp/kb_bench.sqlite3 .venv/bin/python bench/kb_search.py

Migrates the database, seeds it once (a second run finds the articles and
only measures; `--reseed` starts over, deleting every article), then times
`kb.search.search_articles()` in-process — what the widget, the portal and
the API call — each query a fresh random pick. Use a database of its own.

The articles are support texts about the demo's world in English, Romanian
(with diacritics, some written with the old cedillas) and Russian: a third
each, a tenth of them internal, 5 % drafts. Each has a title of four to nine
words and a body of eight to sixteen sentences drawn from about forty per
language, with product names, error codes and serial numbers filled in: a
small vocabulary, so the common words match thousands of articles — the hard
case for ranking.

Kinds of query: `word` (one word, inflected), `words` (two or three words),
`sentence` (a visitor's first message), `folded` (Romanian without
diacritics), `typo` (one letter wrong in a title word: the trigram stage),
`none` (words no article has: every stage runs and finds nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")

SEED = 14
BATCH = 1000
SLUG_PREFIX = "bench-kb"
PRODUCTS = ("RZA-500", "MRU-200", "BMRZ-100", "GW-4", "RZA-700")

SENTENCES = {
    "en": [
        "The warranty covers manufacturing defects for two years from delivery.",
        "After a firmware update the {product} may show error {code} on the display.",
        "Restart the relay by holding the power button for ten seconds.",
        "Check that the serial number {serial} is printed on the label.",
        "Contract renewals are processed thirty days before the end of the term.",
        "Invoices are sent by e-mail on the first working day of the month.",
        "If the display stays blank, check the auxiliary power supply.",
        "The configuration tool exports settings as a signed file.",
        "Replace the battery of the real-time clock every five years.",
        "Warranty claims need the invoice and a description of the fault.",
        "Installers should tighten the terminals to the documented torque.",
        "The protection settings are stored in two redundant memories.",
        "Our engineers answer service requests within one business day.",
        "Firmware downgrades are not supported for security reasons.",
        "Spare parts are shipped from the central warehouse in Bucharest.",
        "Use shielded cables for the communication ports.",
        "The event recorder keeps the last thousand events with timestamps.",
        "Password resets for the web interface need physical access.",
        "Calibration certificates are available in the customer portal.",
        "Overcurrent protection trips when the threshold is exceeded.",
        "Updating the firmware takes about four minutes per device.",
        "Errors during the update are written to the event log.",
        "The extended warranty can be bought during the first year.",
        "Renewing the maintenance contract keeps the priority support line.",
        "Training sessions for new operators are held every quarter.",
    ],
    "ro": [
        "Garanția acoperă defectele de fabricație timp de doi ani de la livrare.",
        "După actualizarea firmware-ului, {product} poate afișa eroarea {code}.",
        "Reporniți releul ținând apăsat butonul de alimentare zece secunde.",
        "Verificați că numărul de serie {serial} este tipărit pe etichetă.",
        "Reînnoirea contractului se face cu treizeci de zile înainte de termen.",
        "Facturile se trimit prin e-mail în prima zi lucrătoare a lunii.",
        "Dacă ecranul rămâne negru, verificați sursa de alimentare auxiliară.",
        "Instrumentul de configurare exportă setările într-un fișier semnat.",
        "Înlocuiți bateria ceasului de timp real la fiecare cinci ani.",
        "Cererile de garanţie necesită factura şi o descriere a defectului.",
        "Instalatorii trebuie să strângă bornele la cuplul din documentație.",
        "Setările de protecție sunt păstrate în două memorii redundante.",
        "Inginerii noștri răspund la solicitări într-o zi lucrătoare.",
        "Revenirea la o versiune mai veche de firmware nu este permisă.",
        "Piesele de schimb pleacă din depozitul central din București.",
        "Folosiți cabluri ecranate pentru porturile de comunicație.",
        "Înregistratorul de evenimente păstrează ultimele o mie de evenimente.",
        "Resetarea parolei interfeței web necesită acces fizic la aparat.",
        "Certificatele de calibrare sunt disponibile în portalul clienților.",
        "Protecția la supracurent declanșează când pragul este depășit.",
        "Actualizarea firmware-ului durează circa patru minute pe aparat.",
        "Erorile din timpul actualizării sunt scrise în jurnalul de evenimente.",
        "Garanția extinsă se poate cumpăra în primul an.",
        "Contractele de mentenanță reînnoite păstrează linia de suport prioritar.",
        "Sesiunile de instruire pentru operatori noi au loc trimestrial.",
    ],
    "ru": [
        "Гарантия покрывает заводские дефекты в течение двух лет с даты поставки.",
        "После обновления прошивки {product} может показать ошибку {code}.",
        "Перезапустите реле, удерживая кнопку питания десять секунд.",
        "Проверьте, что серийный номер {serial} напечатан на этикетке.",
        "Продление договора оформляется за тридцать дней до окончания срока.",
        "Счета отправляются по электронной почте в первый рабочий день месяца.",
        "Если дисплей остаётся тёмным, проверьте вспомогательное питание.",
        "Программа настройки сохраняет параметры в подписанный файл.",
        "Меняйте батарею часов реального времени каждые пять лет.",
        "Для гарантийного ремонта нужны счёт и описание неисправности.",
        "Монтажники должны затягивать клеммы с указанным моментом.",
        "Уставки защиты хранятся в двух резервных памятях.",
        "Наши инженеры отвечают на заявки в течение рабочего дня.",
        "Откат прошивки на старую версию не поддерживается.",
        "Запасные части отправляются с центрального склада.",
        "Используйте экранированные кабели для портов связи.",
        "Регистратор событий хранит последнюю тысячу событий.",
        "Сброс пароля веб-интерфейса требует физического доступа.",
        "Сертификаты калибровки доступны на портале клиентов.",
        "Максимальная токовая защита срабатывает при превышении уставки.",
        "Обновление прошивки занимает около четырёх минут на устройство.",
        "Ошибки во время обновления записываются в журнал событий.",
        "Расширенную гарантию можно купить в течение первого года.",
        "Продлённый договор обслуживания сохраняет приоритетную поддержку.",
        "Обучение новых операторов проводится каждый квартал.",
    ],
}
TITLES = {
    "en": [
        "Warranty terms for {product}",
        "Error {code} after a firmware update",
        "Renewing your maintenance contract",
        "Blank display on the {product}",
        "Invoices and billing questions",
        "Resetting the web interface password",
        "Spare parts and repairs for {product}",
        "Updating the firmware of {product}",
        "Calibration certificates",
        "Overcurrent protection settings on {product}",
    ],
    "ro": [
        "Condițiile de garanție pentru {product}",
        "Eroarea {code} după actualizarea firmware-ului",
        "Reînnoirea contractului de mentenanță",
        "Ecran negru la {product}",
        "Facturi și întrebări de plată",
        "Resetarea parolei interfeței web",
        "Piese de schimb și reparații pentru {product}",
        "Actualizarea firmware-ului {product}",
        "Certificate de calibrare",
        "Setările protecției la supracurent pe {product}",
    ],
    "ru": [
        "Условия гарантии на {product}",
        "Ошибка {code} после обновления прошивки",
        "Продление договора обслуживания",
        "Тёмный дисплей на {product}",
        "Счета и вопросы оплаты",
        "Сброс пароля веб-интерфейса",
        "Запчасти и ремонт {product}",
        "Обновление прошивки {product}",
        "Сертификаты калибровки",
        "Уставки токовой защиты на {product}",
    ],
}
QUERIES = {
    "en": {
        "word": ["warranties", "updating", "invoices", "renewal", "calibration"],
        "words": ["firmware update error", "warranty claim", "spare parts shipping"],
        "sentence": [
            "My RZA-500 shows error E42 after the firmware update, what should I do?",
            "How long is the warranty on the relay I bought last year?",
        ],
        "folded": ["warranty", "display"],
        "typo": ["warrnty", "calibraton", "pasword"],
        "none": ["photosynthesis", "volcano eruption"],
    },
    "ro": {
        "word": ["garanții", "actualizării", "facturile", "reînnoire", "calibrarea"],
        "words": ["eroare actualizare firmware", "garanție extinsă", "piese de schimb"],
        "sentence": [
            "Aparatul RZA-500 arată eroarea E42 după actualizare, ce trebuie să fac?",
            "Cât durează garanția pentru releul cumpărat anul trecut?",
        ],
        "folded": ["garantie", "reinnoirea contractului", "setarile protectiei"],
        "typo": ["garantei", "calibrae", "reinoirea"],
        "none": ["fotosinteză", "erupție vulcanică"],
    },
    "ru": {
        "word": ["гарантию", "обновлении", "счетов", "продление", "калибровки"],
        "words": ["ошибка обновления прошивки", "расширенная гарантия", "запасные части"],
        "sentence": [
            "Мой RZA-500 показывает ошибку E42 после обновления, что делать?",
            "Сколько действует гарантия на реле, купленное в прошлом году?",
        ],
        "folded": ["тёмный дисплей", "счёт"],
        "typo": ["гарантя", "калибровк", "прошвки"],
        "none": ["фотосинтез", "извержение вулкана"],
    },
}


def setup_django() -> None:
    import django

    django.setup()


def fill(template: str, rng: random.Random) -> str:
    product = rng.choice(PRODUCTS)
    return template.format(
        product=product,
        code=f"E{rng.randrange(10, 99)}",
        serial=f"{product.split('-')[0]}-{rng.randrange(2015, 2027)}-{rng.randrange(10**6):06d}",
    )


def seed(count: int) -> None:
    from django.db import connection, transaction

    from kb.models import Article

    rng = random.Random(SEED)
    started = time.perf_counter()
    locales = list(SENTENCES)
    articles = []
    for i in range(count):
        locale = locales[i % 3]
        title = f"{fill(rng.choice(TITLES[locale]), rng)} ({i // 3})"
        sentences = [fill(rng.choice(SENTENCES[locale]), rng) for _ in range(rng.randint(8, 16))]
        body = "\n\n".join(" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4))
        articles.append(
            Article(
                locale=locale,
                slug=f"{SLUG_PREFIX}-{i}",
                title=title,
                body=body,
                audience="internal" if i % 10 == 7 else "public",
                status="draft" if i % 20 == 11 else "published",
            )
        )
    with transaction.atomic():
        Article.objects.bulk_create(articles, batch_size=BATCH)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kb_article")
    print(f"seeded {count} articles in {time.perf_counter() - started:.1f} s", flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(runs: int) -> None:
    from django.db import connection

    from kb.search import search_articles

    rng = random.Random(SEED + 1)
    print(f"database: {connection.vendor}; {runs} queries per language and kind")
    # Wall time is what a visitor waits; on a shared machine it includes waiting
    # for a core. The CPU time of this process (SQLite: all of the search;
    # PostgreSQL: all but the server's side) does not.
    print("| locale | kind | p50 ms | p95 ms | max ms | CPU p50 ms | mean hits |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for locale, kinds in QUERIES.items():
        for kind, queries in kinds.items():
            samples, cpu, hits = [], [], []
            for run in range(runs + 5):
                query = rng.choice(queries)
                internal = rng.random() < 0.2
                started, cpu_started = time.perf_counter(), time.process_time()
                found = search_articles(query, locale=locale, include_internal=internal)
                elapsed = (time.perf_counter() - started) * 1000
                cpu_ms = (time.process_time() - cpu_started) * 1000
                if run >= 5:  # the first few warm the caches
                    samples.append(elapsed)
                    cpu.append(cpu_ms)
                    hits.append(len(found))
            p95 = percentile(samples, 0.95)
            worst = max(worst, p95)
            print(
                f"| {locale} | {kind} | {statistics.median(samples):.1f} | {p95:.1f}"
                f" | {max(samples):.1f} | {statistics.median(cpu):.1f} | {statistics.mean(hits):.1f} |",
                flush=True,
            )
    print(f"worst p95: {worst:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    from kb.models import Article

    call_command("migrate", verbosity=0)
    if args.reseed:
        Article.objects.all().delete()
    if not Article.objects.filter(slug__startswith=SLUG_PREFIX).exists():
        seed(args.articles)
    measure(args.runs)


if __name__ == "__main__":
    main()
