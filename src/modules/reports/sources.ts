/**
 * The county summary's figure sources, in the order they are reported. Each module's figures are
 * computed in SQL as of the month's last day.
 */
import "./figures.js";
import "./credit-figures.js";
import "./income-figures.js";
import "../subsidies/figures.js";
import "../riskfund/figures.js";
