"""Scenarios that book a time: a clinic, a hair salon, a hotel, a restaurant, a flat to rent."""

from __future__ import annotations

from summarizer.data.sample.dialogue import Dialogue
from summarizer.data.sample.particles import group_subject, with_particle
from summarizer.data.sample.slot_values import AREAS, PLACE_PREFIXES, SlotDrawer

SYMPTOMS = ("두통", "복통", "치통", "요통", "몸살", "감기", "비염", "장염", "위염", "결막염")
CLINIC_KINDS = ("내과", "의원", "병원", "정형외과", "이비인후과")


def hospital(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    clinic = slots.place(lambda: rng.choice(PLACE_PREFIXES) + rng.choice(CLINIC_KINDS))
    outcome, symptom = slots.facets("hospital", ("booked", "moved", "closed"), SYMPTOMS)
    symptom = with_particle(symptom, "으로")
    days = f"{rng.randint(2, 9)}일째"
    name = slots.name()
    (month, day), when = slots.date(), slots.time(9, 17)
    talk = Dialogue()
    if rng.random() < 0.5:
        talk.say("S", f"네, {clinic}입니다. 무엇을 도와드릴까요?")
        talk.say("C", rng.choice(("진료 예약을 하고 싶어서 전화했어요.",
                                  "진료를 좀 받고 싶은데 예약이 되나요?")))
    else:
        talk.say("C", f"여보세요, {clinic} 맞죠? 진료 예약 좀 하려고요.")
    talk.say("S", "어디가 불편하세요?")
    talk.say("C", f"{days} {symptom} 고생하고 있어요.")
    talk.say("S", "성함과 생년월일을 말씀해 주세요.")
    talk.say("C", f"{name}, #DateOfBirth#입니다.")
    talk.say("S", rng.choice(("언제 오시겠어요?", "원하시는 날짜가 있으세요?")))
    talk.say("C", f"{month} {day} {when}에 갈 수 있을까요?")
    customer, booked = with_particle(talk["C"], "은"), with_particle(name, "으로")
    visit = f"{customer} {days} {symptom} {clinic}에"
    if outcome == "closed":
        talk.say("S", f"죄송하지만 {with_particle(day, '은')} 휴진이에요.")
        talk.say("C", "아, 그럼 다른 날 다시 연락드릴게요.")
        return talk, f"{visit} {month} {day} {when} 예약하려 했지만 휴진이었다."
    if outcome == "moved":
        other = slots.time(9, 17)
        talk.say("S", f"그 시간은 꽉 찼어요. {with_particle(other, '으로')} 하시면 어떨까요?")
        talk.say("C", "네, 그렇게 할게요.")
        full = with_particle(when, "이")
        summary = f"{visit} {booked} {month} {day} {full} 차서 {other}에 예약했다."
    else:
        talk.say("S", "네, 그 시간에 예약해 드릴게요.")
        summary = f"{visit} {month} {day} {when} {booked} 예약했다."
    talk.say("S", "연락처도 남겨 주시겠어요?")
    talk.say("C", "#PhoneNumber#입니다. " + rng.choice(("문자로 안내 부탁드려요.", "감사합니다.")))
    return talk, summary


SERVICES = ("커트", "염색", "파마", "매직", "드라이", "클리닉")
SALON_KINDS = ("헤어", "미용실", "헤어살롱")


def salon(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    salon_name = slots.place(lambda: rng.choice(PLACE_PREFIXES) + rng.choice(SALON_KINDS))
    outcome, bare_service = slots.facets("salon", ("booked", "booked", "declined"), SERVICES)
    service = with_particle(bare_service, "을")
    (month, day), when, designer = slots.date(), slots.time(10, 19), slots.name()
    price = slots.won(20000, 200000, 10000) + "부터"
    talk = Dialogue()
    if rng.random() < 0.5:
        talk.say("S", f"감사합니다, {salon_name}입니다.")
        talk.say("C", "안녕하세요, 예약 좀 하려고요.")
    else:
        talk.say("C", f"여보세요, {salon_name} 맞죠? 예약 좀 하려고요.")
    talk.say("S", "네, 어떤 시술 받으실 건가요?")
    talk.say("C", f"{service} 하고 싶어요. {designer} 디자이너님께 받을 수 있나요?")
    talk.say("S", "원하시는 날짜와 시간 말씀해 주세요.")
    talk.say("C", f"{month} {day} {when}에 될까요?")
    talk.say("S", f"네, 그 시간 비어 있어요. 가격은 {price}라 미리 말씀드려요.")
    customer = with_particle(talk["C"], "은")
    if outcome == "declined":
        talk.say("C", "생각보다 비싸네요. 다음에 다시 연락드릴게요.")
        what = f"{designer}의 {with_particle(bare_service, '이')} {price}라"
        return talk, f"{customer} {salon_name} {what} {month} {day} {when} 예약을 미뤘다."
    talk.say("C", "네, 예약해 주세요. 번호는 #PhoneNumber#예요.")
    talk.say("S", "예약 완료됐습니다. 그날 뵙겠습니다.")
    what = f"{designer}에게 {month} {day} {when} {price}인 {service}"
    return talk, f"{customer} {salon_name} {what} 예약했다."


CITIES = ("부산", "제주", "강릉", "경주", "여수", "속초", "전주", "통영", "포항", "목포", "춘천")
ROOMS = ("디럭스 더블", "스탠다드 트윈", "오션뷰 스위트", "패밀리 룸", "온돌 룸")
LODGING_KINDS = ("호텔", "리조트")


def hotel(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    hotel_name = slots.place(
        lambda: f"{rng.choice(CITIES)} {rng.choice(PLACE_PREFIXES)}{rng.choice(LODGING_KINDS)}")
    month, day = slots.date()
    nights, guests = f"{rng.randint(1, 4)}박", f"{rng.randint(1, 6)}명"
    outcome, wanted = slots.facets("hotel", ("full", "free"), ROOMS)
    offered = rng.choice([room for room in ROOMS if room != wanted])
    room, other = with_particle(wanted, "을"), with_particle(offered, "을")
    talk = Dialogue()
    if rng.random() < 0.5:
        talk.say("S", f"{hotel_name}입니다. 무엇을 도와드릴까요?")
        talk.say("C", "방을 예약하고 싶어요.")
    else:
        talk.say("C", f"여보세요, {hotel_name} 맞나요? 방 예약하려고요.")
    talk.say("S", "언제 묵으실 건가요?")
    party = with_particle(guests, "이")
    talk.say("C", f"{month} {day}부터 {party} {nights} 묵을 거고 {room} 원해요.")
    customer = with_particle(talk["C"], "은")
    if outcome == "full":
        full = with_particle(wanted, "은")
        talk.say("S", f"죄송하지만 {full} 그날 만실이라 {other} 추천드려요.")
        talk.say("C", "그럼 그걸로 할게요.")
        room = f"{full} 만실이라 {other}"
    else:
        talk.say("S", "네, 그 날짜에 가능합니다.")
    talk.say("S", "예약자 성함과 이메일 주소를 알려 주세요.")
    name = slots.name()
    talk.say("C", f"{name}, #Email#입니다.")
    stay = f"{month} {day}부터 {nights} {guests} {room}"
    return talk, f"{customer} {hotel_name}에 {stay} {with_particle(name, '으로')} 예약했다."


SEATS = ("창가 자리로", "룸으로", "테라스 자리로", "조용한 자리로", "바 자리로")
RESTAURANT_KINDS = ("횟집", "갈비", "칼국수", "한정식", "파스타", "초밥")


def restaurant(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    place = slots.place(lambda: rng.choice(PLACE_PREFIXES) + rng.choice(RESTAURANT_KINDS))
    outcome, seat = slots.facets("restaurant", ("booked", "booked", "full"), SEATS)
    (month, day), when, party = slots.date(), slots.time(11, 20), f"{rng.randint(2, 9)}명"
    talk = Dialogue()
    if rng.random() < 0.5:
        talk.say("S", f"감사합니다, {place}입니다.")
        talk.say("C", "예약 좀 하려고요.")
    else:
        talk.say("C", f"여보세요, {place} 맞죠? 예약 좀 하려고요.")
    talk.say("S", "언제로 해 드릴까요?")
    talk.say("C", f"{month} {day} {when}에 {party} 가능할까요? {seat} 부탁드려요.")
    booking = f"{with_particle(talk['C'], '은')} {place}에 {month} {day} {when} {party}"
    if outcome == "full":
        talk.say("S", "죄송하지만 그날은 예약이 다 찼어요. 대기 명단에 올려 드릴까요?")
        talk.say("C", "네, 올려 주세요. 번호는 #PhoneNumber#예요.")
        return talk, f"{booking} 대기를 걸었다."
    talk.say("S", "네, 가능합니다. 성함이 어떻게 되세요?")
    name = slots.name()
    talk.say("C", f"{name}, 번호는 #PhoneNumber#예요.")
    talk.say("S", "예약됐습니다. 감사합니다.")
    return talk, f"{booking} {seat} {with_particle(name, '으로')} 예약했다."


HOMES = ("원룸", "투룸", "오피스텔", "아파트", "빌라")


def house_hunting(slots: SlotDrawer) -> tuple[Dialogue, str]:
    rng = slots.rng
    outcome, home_kind = slots.facets("realestate", ("contract", "visit"), HOMES)
    area = slots.place(lambda: f"{rng.choice(AREAS)}동")
    home_kind = with_particle(home_kind, "을")
    rent, floor = f"{rng.randrange(30, 155, 5)}만원짜리", f"{rng.randint(2, 15)}층"
    (month, day), when = slots.date(), slots.time(10, 19)
    talk = Dialogue()
    talk.say("S", "어서 오세요. 어떤 집을 찾으세요?")
    talk.say("C", f"{area} {home_kind} 보러 왔어요.")
    talk.say("S", f"마침 {floor}에 월세 {rent} 매물이 하나 있어요.")
    if rng.random() < 0.4:
        talk.say("P", "주차도 되나요?")
        talk.say("S", "네, 한 대는 가능해요.")
    if "P" in talk.tags:
        who = group_subject([talk["C"], talk["P"]])
    else:
        who = with_particle(talk["C"], "은")
    home = f"{who} {rent} {area} {floor} {home_kind} {month} {day} {when}에"
    if outcome == "contract":
        talk.say("C", "지난번에 본 집이죠? 그 집으로 계약할게요.")
        talk.say("S", f"좋습니다. {month} {day} {when}에 계약서 쓰시죠.")
        talk.say("C", "네, 그때 올게요.")
        return talk, f"{home} 계약하기로 했다."
    talk.say("C", "집을 직접 볼 수 있을까요?")
    talk.say("S", f"{month} {day} {when}에 보여 드릴게요.")
    talk.say("C", "좋아요, 그때 갈게요.")
    return talk, f"{home} 보러 가기로 했다."
