import { describe, expect, it } from "vitest";
import { makeIdNumber } from "../../src/lib/id-number.js";
import { groupHouseholds, mapHeader, parseRow, statusDateOf } from "../../src/modules/register/import-model.js";

const TODAY = "2025-06-02";
const header = ["序号", "户编号", "村代码", "姓名", "身份证号码", "与户主关系", "户类型", "脱贫年度", "劳动技能", "健康状况", "联系电话"];
const { map } = mapHeader(header);
const row = (rowNo: number, cells: string[]) => parseRow({ rowNo, cells: ["1", ...cells] }, map, TODAY);
const ID = makeIdNumber("469030", "1970-01-01", 11);

describe("register file columns and rows", () => {
  it("maps the national export's header, its other names included, and names what is missing", () => {
    expect(mapHeader(header).missing).toEqual([]);
    expect(map.get("id_number")).toBe(4);
    expect(map.get("status_year")).toBe(7);
    expect(mapHeader(["户编号", "姓名", "姓名"])).toMatchObject({ missing: ["行政村代码", "证件号码", "与户主关系", "户类型", "年度", "劳动技能", "健康状况"], duplicated: ["姓名"] });
  });

  it("reads a row into the register's codes", () => {
    const r = row(2, ["H1", "469030100201", " 王一 ", ID.toLowerCase(), "户主", "脱贫户", "2019", "弱劳动力或半劳动力", "长期慢性病", "138 0000 0001"]);
    expect(r.problems).toEqual([]);
    expect(r.person).toMatchObject({ name: "王一", idNumber: ID, sex: "M", birthDate: "1970-01-01", relation: "HEAD", status: "EXITED", statusYear: 2019, labour: "WEAK", health: "CHRONIC", phone: "13800000001" });
    expect(r.person?.schooling).toBeUndefined(); // the column is not in the file
  });

  it("reports each problem of a row with its column, in Chinese, without the ID number", () => {
    const bad = ID.slice(0, 17) + (ID[17] === "1" ? "2" : "1");
    const r = row(5, ["", "46903010020", "王一", bad, "叔叔", "脱贫户", "", "普通劳动力", "很好", "123"]);
    expect(r.person).toBeNull();
    expect(r.problems.map((p) => [p.row, p.column, p.code])).toEqual([
      [5, "户编号", "REQUIRED"],
      [5, "与户主关系", "INVALID_VALUE"],
      [5, "年度", "REQUIRED"],
      [5, "健康状况", "INVALID_VALUE"],
      [5, "行政村代码", "INVALID_VALUE"],
      [5, "联系电话", "INVALID_PHONE"],
      [5, "证件号码", "INVALID_ID_NUMBER"],
    ]);
    expect(r.problems.some((p) => p.message.includes(bad))).toBe(false);
    expect(row(6, ["H1", "469030100201", "王一", ID, "户主", "脱贫户", "2031", "普通劳动力", "健康", ""]).problems.map((p) => p.code)).toEqual(["INVALID_YEAR"]);
  });

  it("dates a status taken from the file at its year's end, or today for this year", () => {
    expect(statusDateOf(2019, TODAY)).toBe("2019-12-31");
    expect(statusDateOf(2025, TODAY)).toBe(TODAY);
    expect(statusDateOf(null, TODAY)).toBe(TODAY);
  });

  it("groups a household's rows, taking its fields from the head's row and refusing rows that differ", () => {
    const head = row(2, ["H1", "469030100201", "王一", ID, "户主", "监测户", "2024", "普通劳动力", "健康", "13800000001"]).person!;
    const child = row(3, ["H1", "469030100201", "王二", makeIdNumber("469030", "2000-01-01", 12), "之女", "监测户", "2024", "普通劳动力", "健康", ""]).person!;
    const other = row(4, ["H1", "469030100201", "王三", makeIdNumber("469030", "2002-01-01", 13), "之子", "脱贫户", "2024", "普通劳动力", "健康", "13900000009"]).person!;
    const { households, problems } = groupHouseholds([child, head, other], []);
    expect(households).toHaveLength(1);
    expect(households[0]).toMatchObject({ householdNo: "H1", status: "MONITORED", statusYear: 2024, phone: "13800000001" });
    expect(problems.map((p) => [p.row, p.column, p.code])).toEqual([
      [4, "户类型", "HOUSEHOLD_MISMATCH"],
      [4, "联系电话", "HOUSEHOLD_MISMATCH"],
    ]);
    // A head whose row was refused still counts: the household does not also lack a head.
    expect(groupHouseholds([child], [{ rowNo: 2, householdNo: "H1", isHead: true }]).problems).toEqual([]);
    expect(groupHouseholds([child], []).problems.map((p) => p.code)).toEqual(["HEAD_COUNT"]);
  });
});
