"""Scenarios at a counter or a help line: returns, a pharmacy, a bank, a parcel, a car repair,
lost property."""

from __future__ import annotations

from summarizer.data.sample.dialogue import Dialogue
from summarizer.data.sample.particles import with_particle
from summarizer.data.sample.slot_values import AREAS, COLOURS, ITEMS, PLACE_PREFIXES, SlotDrawer

DEFECTS = (  # (what the customer says, how the summary names it)
    ("받아 보니까 얼룩이 묻어 있더라고요.", "얼룩 때문에"),
    ("박음질이 터져 있었어요.", "박음질 불량으로"),
    ("지퍼가 고장 나서 안 잠겨요.", "지퍼 고장으로"),
)
CLOTHING_SIZES = ("S", "M", "L", "XL")


def returns(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    outcome, item = slots.facets("returns", ("refund", "exchange", "late"), ITEMS)
    colour, item = rng.choice(COLOURS), with_particle(item, "을")
    price, order = slots.won(19000, 199000, 1000), slots.number(6)
    days = f"{rng.randint(15, 40) if outcome == 'late' else rng.randint(2, 10)}일"
    talk = Dialogue()
    if rng.random() < 0.5:
        talk.say("S", "안녕하세요, 고객센터입니다. 무엇을 도와드릴까요?")
    talk.say("C", f"{days} 전에 산 옷 때문에 연락드렸어요.")
    talk.say("S", "주문번호와 상품을 알려 주시겠어요?")
    talk.say("C", f"주문번호는 {order}번이고, {colour} {item} {price}에 샀어요.")
    customer = with_particle(talk["C"], "은")
    if outcome == "late":
        late = with_particle(days, "이")
        talk.say("S", f"확인해 보니 구매하신 지 {late} 지나서 반품이 어려워요.")
        talk.say("C", "아, 그렇군요. 알겠습니다.")
        return talk, f"{customer} {order}번 {colour} {item} {late} 지나 반품하지 못했다."
    talk.say("S", "어떤 문제가 있으세요?")
    if outcome == "refund":
        said, defect = rng.choice(DEFECTS)
        refund = with_particle(price, "을")
        talk.say("C", said)
        talk.say("S", f"불편을 드려 죄송합니다. {refund} #CardNumber# 카드로 환불해 드릴게요.")
        talk.say("C", "네, 감사합니다.")
        returned = f"{order}번 {colour} {item} {defect} 반품하고"
        return talk, f"{customer} {returned} {refund} 환불받았다."
    size = rng.choice(CLOTHING_SIZES[:-1])
    bigger = CLOTHING_SIZES[CLOTHING_SIZES.index(size) + 1]
    talk.say("C", f"입어 보니 {size} 사이즈가 작더라고요.")
    talk.say("S", f"그럼 {bigger} 사이즈로 바꿔 드릴게요. 내일 회수하러 가겠습니다.")
    talk.say("C", "네, 그렇게 해 주세요.")
    exchanged = f"{order}번 {price}짜리 {colour} {item} {size}에서 {bigger} 사이즈로"
    return talk, f"{customer} {exchanged} 바꿨다."


# Paired by position: each ailment's medicine.
AILMENTS = ("두통이", "기침이", "콧물이", "소화불량이", "근육통이", "가려움증이", "목감기가")
MEDICINES = ("진통제를", "기침약을", "감기약을", "소화제를", "파스를", "연고를", "목캔디를")
DOSES = ("식후에", "식전에", "자기 전에")
DAYS_BEFORE_A_DOCTOR = 7  # from a week on, the pharmacist sends the customer to a doctor


def pharmacy(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    ailment, days = slots.facets("pharmacy", AILMENTS, [str(day) for day in range(1, 15)])
    medicine, days = MEDICINES[AILMENTS.index(ailment)], int(days)
    pharmacy_name = slots.place(lambda: rng.choice(PLACE_PREFIXES) + "약국")
    talk = Dialogue()
    talk.say("S", f"어서 오세요, {pharmacy_name}입니다.")
    talk.say("C", rng.choice(("안녕하세요, 약 좀 사려고요.",
                              "저기요, 약 좀 추천해 주실 수 있나요?")))
    talk.say("S", "네, 어디가 불편하세요?")
    talk.say("C", f"{days}일째 {ailment} 계속돼요.")
    pharmacist = f"{pharmacy_name} {with_particle(talk['S'], '은')}"
    patient = f"{days}일째 {ailment} 계속된 {talk['C']}에게"
    if days >= DAYS_BEFORE_A_DOCTOR:
        clinic = slots.place(lambda: rng.choice(PLACE_PREFIXES) + rng.choice(("내과", "의원")))
        talk.say("S", f"{days}일째면 약보다 진료를 받아 보시는 게 좋겠어요.")
        talk.say("C", "그래요? 근처에 병원이 있나요?")
        talk.say("S", f"길 건너 {clinic}에 가 보세요.")
        return talk, f"{pharmacist} {patient} {clinic} 진료를 권했다."
    times, dose = f"{rng.randint(2, 3)}번", rng.choice(DOSES)
    price = slots.won(2000, 15000, 500)
    talk.say("S", f"그럼 이 {medicine} 하루 {times} {dose} 드세요.")
    talk.say("C", "네, 얼마예요?")
    talk.say("S", f"{price}입니다.")
    advice = f"{price}짜리 {medicine} 하루 {times} {dose} 먹으라고"
    return talk, f"{pharmacist} {patient} {advice} 했다."


PURPOSES = ("월세로", "축의금으로", "용돈으로", "생활비로", "계약금으로", "병원비로")
RATES = ("2.5%", "3.0%", "3.5%", "4.0%", "4.5%")
SAVINGS_MONTHS = (6, 12, 24, 36)


def bank(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    branch = slots.place(lambda: rng.choice(AREAS) + "지점")
    talk = Dialogue()
    talk.say("S", f"어서 오세요, {branch}입니다. 어떤 업무 보시겠어요?")
    task = rng.choice(("transfer", "savings", "card"))
    if task == "transfer":
        recipient = slots.name()
        amount = with_particle(slots.won(100000, 3000000, 50000), "을")
        purpose = rng.choice(PURPOSES)
        talk.say("C", f"{recipient} 씨에게 {purpose} {amount} 보내려고요.")
        talk.say("S", "신분증과 받는 분 계좌번호를 주시겠어요?")
        talk.say("C", "여기 있어요.")
        talk.say("S", f"{recipient} 님께 송금 완료됐습니다.")
        customer = with_particle(talk["C"], "은")
        return talk, f"{customer} {branch}에서 {recipient}에게 {purpose} {amount} 송금했다."
    if task == "savings":
        monthly = slots.won(50000, 1000000, 50000) + "씩"
        months, rate = f"{rng.choice(SAVINGS_MONTHS)}개월", rng.choice(RATES)
        talk.say("C", f"매달 {monthly} {months} 동안 넣는 적금을 들고 싶어요.")
        talk.say("S", f"금리는 연 {rate}입니다. 주민등록번호를 확인하겠습니다.")
        talk.say("C", "#SSN#입니다.")
        talk.say("S", "가입 완료됐습니다.")
        customer = with_particle(talk["C"], "은")
        return talk, f"{customer} {branch}에서 {months} {monthly} {rate} 적금에 가입했다."
    (month, day), days = slots.date(), f"{rng.randint(3, 7)}일"
    talk.say("C", f"{month} {day}에 체크카드를 잃어버려서 재발급받으려고요.")
    talk.say("S", "분실 신고부터 할게요. 카드번호를 아시나요?")
    talk.say("C", "#CardNumber#예요.")
    talk.say("S", f"신고됐습니다. 새 카드는 {days} 안에 #Address#로 배송됩니다.")
    customer = with_particle(talk["C"], "은")
    lost_card = f"{month} {day}에 잃어버린 체크카드를"
    return talk, f"{customer} {branch}에서 {lost_card} {days} 안에 새로 받는다."


def delivery(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    outcome, item = slots.facets("delivery", ("late", "address", "missing"), ITEMS)
    colour, item, tracking = rng.choice(COLOURS), with_particle(item, "을"), slots.number(8)
    talk = Dialogue()
    talk.say("S", "안녕하세요, 택배 고객센터입니다.")
    talk.say("C", f"{colour} {item} 주문했는데 아직 안 왔어요.")
    talk.say("S", "송장번호를 알려 주시겠어요?")
    talk.say("C", f"{tracking}번이에요.")
    parcel = f"{with_particle(talk['C'], '은')} {tracking}번 {colour} {item}"
    if outcome == "late":
        month, day = slots.date()
        talk.say("S", f"물량이 많아서 늦어지고 있어요. {month} {day}에 도착할 예정입니다.")
        talk.say("C", "알겠습니다. 그날은 꼭 받아야 해요.")
        return talk, f"{parcel} {month} {day}에 받는다."
    if outcome == "address":
        talk.say("S", "아직 출발 전이에요.")
        talk.say("C", "그럼 배송지를 #Address#로 바꿔 주세요.")
        talk.say("S", "네, 변경해 드렸습니다.")
        return talk, f"{parcel} #Address#로 받도록 바꿨다."
    when = slots.time(9, 20)
    talk.say("S", f"기록상으로는 {when}에 배송 완료로 나와요.")
    talk.say("C", "문 앞에 아무것도 없었는데요?")
    talk.say("S", "경비실에 맡겨졌을 수 있으니 확인해 보세요.")
    return talk, f"{parcel} {when}에 왔다는데 못 받았다."


CARS = ("아반떼", "쏘나타", "모닝", "스포티지", "그랜저", "투싼", "레이", "카니발")
CAR_PARTS = ("브레이크", "에어컨", "타이어", "엔진", "와이퍼", "배터리", "헤드라이트")
GARAGE_KINDS = ("카센터", "모터스", "자동차")


def car_repair(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    garage = slots.place(lambda: rng.choice(PLACE_PREFIXES) + rng.choice(GARAGE_KINDS))
    outcome, part = slots.facets("car", ("later", "today"), CAR_PARTS)
    car, cost = rng.choice(CARS), slots.won(30000, 600000, 10000) + "에"
    talk = Dialogue()
    talk.say("S", f"{garage}입니다. 어떻게 오셨어요?")
    talk.say("C", f"제 {car} {part} 상태가 이상해서요. 좀 봐 주세요.")
    talk.say("S", "차량 번호가 어떻게 되세요?")
    talk.say("C", "#CarNumber#이에요.")
    talk.say("S", f"점검해 보니 부품을 갈아야겠네요. {cost} 해 드릴게요.")
    repair = f"{with_particle(talk['C'], '은')} {garage}에 {cost} {car} {part} 수리를 맡겨"
    if outcome == "later":
        month, day = slots.date()
        talk.say("S", f"부품을 주문해야 해서 {month} {day}에 끝나요.")
        talk.say("C", "어쩔 수 없죠. 그때 찾으러 올게요.")
        return talk, f"{repair} {month} {day}에 찾는다."
    when = slots.time(12, 19) + "까지"
    talk.say("C", "오늘 안에 될까요?")
    talk.say("S", f"네, {when} 해 놓을게요.")
    talk.say("C", "그럼 그때 올게요.")
    return talk, f"{repair} {when} 찾으러 온다."


def lost_property(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    outcome, bare_item = slots.facets("lost", ("found", "missing"), ITEMS)
    colour, item = rng.choice(COLOURS), with_particle(bare_item, "을")
    when = slots.time(7, 22) + "쯤"
    line, station = slots.place(lambda: f"{rng.randint(1, 9)}호선 {rng.choice(AREAS)}역").split()
    talk = Dialogue()
    talk.say("C", "저기요, 지하철에 물건을 두고 내렸어요.")
    talk.say("S", "어떤 물건인가요?")
    talk.say("C", f"오늘 {when} {line} 타고 가다가 {colour} {item} 두고 내렸어요.")
    talk.say("S", "어느 역에서 내리셨어요?")
    talk.say("C", f"{station}에서 내렸어요.")
    lost = f"{with_particle(talk['C'], '은')} {when} {line} {station}에서 잃은 {colour} {item}"
    if outcome == "found":
        talk.say("S", f"{colour} {bare_item} 하나가 들어와 있네요. 유실물센터로 오세요.")
        talk.say("C", "다행이다! 감사합니다.")
        return talk, f"{lost} 찾았다."
    talk.say("S", "아직 들어온 물건은 없어요. 연락처를 남겨 주세요.")
    talk.say("C", "#PhoneNumber#입니다.")
    return talk, f"{lost} 못 찾았다."
