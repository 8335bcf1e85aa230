"""Demo articles: the knowledge base of the demo's world, in English, Romanian and Russian.

Idempotent: an article is found again by locale and slug, a category by
locale and slug, so seeding twice adds nothing. Translations of one text
share a fixed translation group. Two articles are linked to the demo tickets
they answer (found by subject), as "Create article from this ticket" would.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db.models import F

from kb.actions import create_article
from kb.models import Article, ArticleVote, Category
from tickets.models import Ticket

if TYPE_CHECKING:
    from queues.demo_records import DemoData

DEMO_NAMESPACE = uuid.UUID("0d5c3a52-3f0e-4c6b-9a1e-7b5a8f2e4c10")

# locale, slug, name, position
CATEGORIES = [
    ("en", "troubleshooting", "Troubleshooting", 1),
    ("en", "warranty-and-contracts", "Warranty and contracts", 2),
    ("en", "billing", "Billing", 3),
    ("ro", "depanare", "Depanare", 1),
    ("ro", "garantie-si-contracte", "Garanție și contracte", 2),
    ("ru", "neispravnosti", "Неисправности", 1),
    ("ru", "garantiya-i-dogovory", "Гарантия и договоры", 2),
]

# group, locale, slug, category, audience, departments, products, source ticket subject, title, body
# fmt: off
ARTICLES = [
    ("e42", "en", "rza-500-error-e42-after-firmware-update", "troubleshooting", "public",
     ["support"], ["RZA-500"], None,
     "RZA-500 shows error E42 after a firmware update",
     "Error **E42** means the relay started with a settings file that does not match the new "
     "firmware. It appears after updating an RZA-500 to firmware 3.2 without converting the "
     "settings.\n\n## How to fix it\n\n1. Keep the relay powered; protection stays on its "
     "factory defaults while E42 is shown.\n2. Open the configuration tool and load the settings "
     "file you saved before the update.\n3. Choose **Convert to 3.2** and write the settings "
     "back to the relay.\n4. Restart the relay. The E42 error clears within a minute.\n\n"
     "If the error comes back after a restart, send us the relay's event log and the serial "
     "number."),
    ("e42", "ro", "rza-500-eroarea-e42-dupa-actualizarea-firmware", "depanare", "public",
     ["support"], ["RZA-500"], None,
     "RZA-500 afișează eroarea E42 după actualizarea firmware-ului",
     "Eroarea **E42** înseamnă că releul a pornit cu un fișier de setări care nu se potrivește "
     "cu noul firmware. Apare după actualizarea unui RZA-500 la firmware-ul 3.2 fără conversia "
     "setărilor.\n\n## Cum se rezolvă\n\n1. Lăsați releul alimentat; protecția rămâne pe setările "
     "din fabrică cât timp este afișată E42.\n2. Deschideți programul de configurare și încărcați "
     "fișierul de setări salvat înainte de actualizare.\n3. Alegeți **Conversie la 3.2** și "
     "scrieți setările înapoi în releu.\n4. Reporniți releul. Eroarea E42 dispare în mai puțin de "
     "un minut.\n\nDacă eroarea revine după repornire, trimiteți-ne jurnalul de evenimente și "
     "numărul de serie."),
    ("e42", "ru", "rza-500-oshibka-e42-posle-obnovleniya-proshivki", "neispravnosti", "public",
     ["support"], ["RZA-500"], None,
     "RZA-500: ошибка E42 после обновления прошивки",
     "Ошибка **E42** означает, что реле запустилось с файлом уставок, который не подходит к новой "
     "прошивке. Она появляется после обновления RZA-500 до прошивки 3.2 без преобразования "
     "уставок.\n\n## Как исправить\n\n1. Не отключайте питание реле: пока горит E42, защита "
     "работает на заводских уставках.\n2. Откройте программу конфигурации и загрузите файл "
     "уставок, сохранённый до обновления.\n3. Выберите **Преобразовать для 3.2** и запишите "
     "уставки в реле.\n4. Перезапустите реле. Ошибка E42 исчезнет в течение минуты.\n\n"
     "Если после перезапуска ошибка возвращается, пришлите журнал событий реле и серийный номер."),
    ("warranty", "en", "warranty-terms", "warranty-and-contracts", "public",
     ["support", "sales"], ["RZA-500", "MRU-200", "BMRZ-100", "GW-4"], None,
     "Warranty terms for Chatportal Energy devices",
     "Every relay and gateway carries a **36-month warranty** from the date of purchase shown on "
     "the invoice.\n\n## What the warranty covers\n\n- Repair or replacement of a faulty unit, "
     "shipping included.\n- Firmware updates for the life of the product.\n\n## What it does not "
     "cover\n\n- Damage from lightning or overvoltage beyond the rated values.\n- Units opened or "
     "repaired by someone else.\n\nOut of warranty, a repair is paid unless your support contract "
     "covers it. To claim, open a ticket with the serial number and a description of the fault."),
    ("warranty", "ro", "termenii-garantiei", "garantie-si-contracte", "public",
     ["support", "sales"], ["RZA-500", "MRU-200", "BMRZ-100", "GW-4"], None,
     "Termenii garanției pentru echipamentele Chatportal Energy",
     "Fiecare releu și gateway are o **garanție de 36 de luni** de la data cumpărării de pe "
     "factură.\n\n## Ce acoperă garanția\n\n- Repararea sau înlocuirea unității defecte, inclusiv "
     "transportul.\n- Actualizările de firmware pe toată durata de viață a produsului.\n\n## Ce nu "
     "acoperă\n\n- Deteriorările cauzate de trăsnet sau de supratensiuni peste valorile nominale.\n"
     "- Unitățile deschise sau reparate de altcineva.\n\nÎn afara garanției, reparația se plătește, "
     "cu excepția cazului în care contractul de suport o acoperă. Pentru o reclamație în garanție, "
     "deschideți un tichet cu numărul de serie și descrierea defectului."),
    ("warranty", "ru", "usloviya-garantii", "garantiya-i-dogovory", "public",
     ["support", "sales"], ["RZA-500", "MRU-200", "BMRZ-100", "GW-4"], None,
     "Условия гарантии на устройства Chatportal Energy",
     "На каждое реле и шлюз действует **гарантия 36 месяцев** с даты покупки, указанной в "
     "счёте.\n\n## Что покрывает гарантия\n\n- Ремонт или замену неисправного устройства, включая "
     "доставку.\n- Обновления прошивки на весь срок службы изделия.\n\n## Что не покрывает\n\n"
     "- Повреждения от молнии или перенапряжения сверх номинальных значений.\n- Устройства, "
     "вскрытые или отремонтированные третьими лицами.\n\nПосле окончания гарантии ремонт платный, "
     "если его не покрывает договор на поддержку. Для гарантийного случая откройте заявку с "
     "серийным номером и описанием неисправности."),
    ("renewal", "en", "renewing-a-support-contract", "warranty-and-contracts", "public",
     ["sales", "billing"], [], None,
     "Renewing your support contract",
     "Support contracts (Gold 24x7, Silver, Bronze) run for a fixed term. Your account manager "
     "sends a renewal offer **60 days before** the end date.\n\n## To renew\n\n1. Reply to the "
     "offer or write to Sales from the portal.\n2. Confirm the plan; you may move up or down a "
     "plan at renewal.\n3. Pay the invoice; the new term starts the day after the old one ends.\n\n"
     "An expired contract keeps your history, but tickets get the Standard response times until "
     "it is renewed."),
    ("renewal", "ro", "reinnoirea-contractului-de-suport", "garantie-si-contracte", "public",
     ["sales", "billing"], [], None,
     "Reînnoirea contractului de suport",
     "Contractele de suport (Gold 24x7, Silver, Bronze) au o durată fixă. Managerul de cont "
     "trimite oferta de reînnoire cu **60 de zile înainte** de data de încheiere.\n\n## Pentru "
     "reînnoire\n\n1. Răspundeți la ofertă sau scrieți departamentului Vânzări din portal.\n2. "
     "Confirmați planul; la reînnoire puteți trece la un plan superior sau inferior.\n3. Plătiți "
     "factura; noul termen începe a doua zi după încheierea celui vechi.\n\nUn contract expirat "
     "vă păstrează istoricul, dar tichetele primesc timpii de răspuns Standard până la reînnoire."),
    ("renewal", "ru", "prodlenie-dogovora-podderzhki", "garantiya-i-dogovory", "public",
     ["sales", "billing"], [], None,
     "Продление договора на поддержку",
     "Договоры на поддержку (Gold 24x7, Silver, Bronze) заключаются на определённый срок. "
     "Менеджер отправляет предложение о продлении **за 60 дней** до окончания.\n\n## Чтобы "
     "продлить\n\n1. Ответьте на предложение или напишите в отдел продаж через портал.\n2. "
     "Подтвердите тариф; при продлении можно перейти на другой тариф.\n3. Оплатите счёт; новый "
     "срок начинается на следующий день после окончания старого.\n\nПосле окончания договора "
     "история сохраняется, но заявки обслуживаются по стандартным срокам до продления."),
    ("firmware", "en", "updating-rza-500-to-firmware-3-2", "troubleshooting", "public",
     ["support"], ["RZA-500"], "RZA-500 firmware 3.2 update",
     "Updating an RZA-500 to firmware 3.2",
     "The firmware 3.2 package and its release notes are in the portal under **Downloads**.\n\n"
     "1. Save the relay's settings file first.\n2. Update one relay and check it before the "
     "others.\n3. Convert the saved settings to 3.2 and write them back (otherwise the relay "
     "shows error E42).\n\nKeep the old settings file until every relay runs 3.2."),
    ("inrush", "ro", "releul-declanseaza-la-curentul-de-magnetizare", "depanare", "public",
     ["support"], ["RZA-500"], "Relay trips on inrush current",
     "Releul declanșează la conectarea transformatorului",
     "La conectarea unui transformator, curentul de magnetizare poate declanșa protecția "
     "diferențială cu setările din fabrică.\n\n## Soluția\n\nActivați **blocarea la armonica a "
     "doua** cu pragul de 15%. Dacă declanșarea persistă, trimiteți înregistrarea de defect "
     "(oscilograma) din releu."),
    ("bmrz-display", "ru", "bmrz-100-ne-vklyuchaetsya-displej", "neispravnosti", "public",
     ["support"], ["BMRZ-100"], "BMRZ-100: дисплей не включается",
     "BMRZ-100: не включается дисплей, защита работает",
     "Если после грозы или скачка напряжения дисплей BMRZ-100 не включается, а защита работает, "
     "чаще всего неисправен блок питания дисплея.\n\nПришлите серийный номер и фото платы "
     "питания: по гарантии мы заменим блок бесплатно."),
    ("gw4-ntp", "en", "gw-4-iec-104-link-drops-at-night", "troubleshooting", "internal",
     ["support"], ["GW-4"], None,
     "Known solution: GW-4 drops the IEC 104 link around 02:00",
     "Internal: the GW-4 resynchronises its clock with NTP at 02:00; with firmware older than 1.8 "
     "the jump restarts the IEC 104 server and the SCADA master drops the link.\n\nAsk for the "
     "gateway log to confirm, then advise firmware 1.8, or moving the NTP sync to a quiet hour "
     "as a workaround."),
    ("invoice", "en", "getting-a-copy-of-an-invoice", "billing", "public",
     ["billing"], [], None,
     "Getting a copy of an invoice",
     "Every invoice is in the portal under **Invoices**, as a PDF. You can also ask Billing in a "
     "ticket; we attach the copy to it."),
]
# fmt: on


def seed(demo: DemoData) -> None:
    categories = {}
    for locale, slug, name, position in CATEGORIES:
        categories[(locale, slug)], _ = Category.objects.get_or_create(
            locale=locale, slug=slug, defaults={"name": name, "position": position}
        )
    author = demo.agents.get("boris")
    for (
        group,
        locale,
        slug,
        category,
        audience,
        departments,
        products,
        subject,
        title,
        body,
    ) in ARTICLES:
        if Article.objects.filter(locale=locale, slug=slug).exists():
            continue
        tickets = Ticket.objects.filter(subject=subject) if subject else Ticket.objects.none()
        create_article(
            title=title,
            body=body,
            by=author,
            locale=locale,
            audience=audience,
            status=Article.Status.PUBLISHED,
            slug=slug,
            category=categories[(locale, category)],
            departments=[demo.departments[d] for d in departments],
            products=[demo.products[p] for p in products],
            source_tickets=list(tickets),
            translation_group=uuid.uuid5(DEMO_NAMESPACE, group),
            note="demo",
        )
    _seed_vote()


def _seed_vote() -> None:
    """One "this helped" on the E42 article, so the votes screen in /admin/ is not empty."""
    article = Article.objects.filter(slug="rza-500-error-e42-after-firmware-update").first()
    if article is None:
        return
    _vote, created = ArticleVote.objects.get_or_create(
        article=article, voter="session:demo", defaults={"helpful": True}
    )
    if created:
        Article.objects.filter(pk=article.pk).update(helpful_count=F("helpful_count") + 1)
