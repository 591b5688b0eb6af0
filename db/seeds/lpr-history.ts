/**
 * The loan prime rate (贷款市场报价利率, LPR) as the National Interbank Funding Center published it
 * since the reform of August 2019: every publication at which the 1-year or the 5-year-and-above
 * rate changed, with both rates in force from that date. Loans disbursed years before a county
 * adopts the platform are priced on the LPR of their own date, so the table reaches back to 2019.
 */
export const LPR_HISTORY: readonly { publication_date: string; lpr_1y: string; lpr_5y: string }[] = [
  { publication_date: "2019-08-20", lpr_1y: "0.0425", lpr_5y: "0.0485" },
  { publication_date: "2019-09-20", lpr_1y: "0.0420", lpr_5y: "0.0485" },
  { publication_date: "2019-11-20", lpr_1y: "0.0415", lpr_5y: "0.0480" },
  { publication_date: "2020-02-20", lpr_1y: "0.0405", lpr_5y: "0.0475" },
  { publication_date: "2020-04-20", lpr_1y: "0.0385", lpr_5y: "0.0465" },
  { publication_date: "2021-12-20", lpr_1y: "0.0380", lpr_5y: "0.0465" },
  { publication_date: "2022-01-20", lpr_1y: "0.0370", lpr_5y: "0.0460" },
  { publication_date: "2022-05-20", lpr_1y: "0.0370", lpr_5y: "0.0445" },
  { publication_date: "2022-08-22", lpr_1y: "0.0365", lpr_5y: "0.0430" },
  { publication_date: "2023-06-20", lpr_1y: "0.0355", lpr_5y: "0.0420" },
  { publication_date: "2023-08-21", lpr_1y: "0.0345", lpr_5y: "0.0420" },
  { publication_date: "2024-02-20", lpr_1y: "0.0345", lpr_5y: "0.0395" },
  { publication_date: "2024-07-22", lpr_1y: "0.0335", lpr_5y: "0.0385" },
  { publication_date: "2024-10-21", lpr_1y: "0.0310", lpr_5y: "0.0360" },
  { publication_date: "2025-05-20", lpr_1y: "0.0300", lpr_5y: "0.0350" },
];
